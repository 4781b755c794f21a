"""Renders docs/diagrams/*.dot to SVG with Graphviz and stamps each SVG with its source's
SHA-256, so a test can tell a committed SVG from a stale one without Graphviz installed.

    python scripts/render_diagram.py          # re-render (make docs-diagram; needs `dot`)
    python scripts/render_diagram.py --check  # exit 1 when an SVG is not from its .dot
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIAGRAMS = ROOT / "docs" / "diagrams"
COMMAND = "make docs-diagram"
_STAMP = re.compile(r"<!-- source sha256: ([0-9a-f]{64}) -->")


def source_digest(dot: Path) -> str:
    return hashlib.sha256(dot.read_bytes()).hexdigest()


def stamped_digest(svg: Path) -> str | None:
    """The source digest an SVG was rendered from, or None when it carries none."""
    match = _STAMP.search(svg.read_text(encoding="utf-8")) if svg.exists() else None
    return match.group(1) if match else None


def stale(directory: Path = DIAGRAMS) -> list[str]:
    """The .dot sources whose SVG is missing or was rendered from another version."""
    return [
        dot.name
        for dot in sorted(directory.glob("*.dot"))
        if stamped_digest(dot.with_suffix(".svg")) != source_digest(dot)
    ]


def render(dot: Path) -> None:
    svg = subprocess.run(
        ["dot", "-Tsvg", str(dot)], check=True, capture_output=True, text=True
    ).stdout
    stamp = f"<!-- source sha256: {source_digest(dot)} -->"
    head, sep, rest = svg.partition("?>\n")  # after the XML declaration
    svg = f"{head}{sep}{stamp}\n{rest}" if sep else f"{stamp}\n{svg}"
    dot.with_suffix(".svg").write_text(svg, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if an SVG is stale")
    args = parser.parse_args(argv)
    if args.check:
        for name in stale():
            print(f"docs/diagrams/{name}: its SVG is stale, run `{COMMAND}`", file=sys.stderr)
        return 1 if stale() else 0
    if shutil.which("dot") is None:
        print(
            "Graphviz is not installed: `apt-get install -y graphviz`, then again.", file=sys.stderr
        )
        return 2
    for dot in sorted(DIAGRAMS.glob("*.dot")):
        render(dot)
        print(f"rendered docs/diagrams/{dot.with_suffix('.svg').name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
