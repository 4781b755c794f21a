"""The Pulumi program: read ``mlops:cloud`` and that cloud's settings, run its program.

Each cloud's wiring is ``infra/<cloud>/program.py`` and its settings
``infra/<cloud>/config.py``; only the chosen cloud's modules (and provider package) are
imported.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

if __package__ in (None, ""):
    # `pulumi up` runs this directory as a script; the components import as `infra.*`.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pulumi

from infra.config import ConfigError, read_stack_config


def main() -> None:
    try:
        settings = read_stack_config()
    except ConfigError as exc:
        raise pulumi.RunError(str(exc)) from None
    program = importlib.import_module(f"infra.{settings.cloud}.program")
    getattr(program, f"{settings.cloud}_program")(settings.settings)


if __name__ == "__main__":
    main()
