#!/usr/bin/env bash
# Installs the Debian packages the OCR pipeline and the document generator need,
# only when something is missing, so a second `make` costs nothing.
set -euo pipefail

need=()
if ! command -v tesseract >/dev/null 2>&1; then
    need+=(tesseract-ocr tesseract-ocr-eng tesseract-ocr-fra)
else
    langs="$(tesseract --list-langs 2>/dev/null || true)"
    grep -qx eng <<<"$langs" || need+=(tesseract-ocr-eng)
    grep -qx fra <<<"$langs" || need+=(tesseract-ocr-fra)
fi
# More typefaces make the generated documents more varied (DejaVu alone also works).
[ -d /usr/share/fonts/truetype/liberation2 ] || need+=(fonts-liberation2)
[ -d /usr/share/fonts/truetype/freefont ] || need+=(fonts-freefont-ttf)
# npm installs Azurite, the Azure Blob emulator of the Azure tests (scripts/install-tools.sh).
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)

if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi

echo "Installing system packages: ${need[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo="sudo"
    else
        echo "Missing packages ${need[*]} and no root: install them with apt-get, then retry." >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
