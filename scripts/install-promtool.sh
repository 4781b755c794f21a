#!/usr/bin/env bash
# Installs promtool (Debian package `prometheus`) for `make check-ops`, only when it
# is missing, so a second `make` costs nothing.
set -euo pipefail

if command -v promtool >/dev/null 2>&1; then
    exit 0
fi

echo "Installing system package: prometheus (for promtool)"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo="sudo"
    else
        echo "promtool is missing and there is no root: apt-get install prometheus" \
            "(or put promtool from a Prometheus release on PATH), then retry." >&2
        exit 1
    fi
fi

# The package ships a service; in a container or CI runner there is no init to start
# it, and its postinst must not fail or wait on one. A policy-rc.d answering 101
# ("action forbidden") makes invoke-rc.d skip the start. An existing one is left alone.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    trap '$sudo rm -f "$policy"' EXIT
fi

apt_install() {
    # Through env: sudo drops the caller's environment by default.
    $sudo env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends prometheus >/dev/null
}
# Package lists are often absent or stale on a fresh image; refresh them only then.
if ! apt_install; then
    $sudo apt-get update -qq
    apt_install
fi
command -v promtool >/dev/null 2>&1 || {
    echo "The prometheus package installed no promtool on PATH." >&2
    exit 1
}
