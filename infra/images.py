"""What every cloud's image builds share: the build inputs and the tag naming their content.

An image given by config (CI built it) is used as is. Otherwise the repo's Dockerfile is
built with pulumi-docker-build and pushed under a tag derived from the build inputs'
content: registries that refuse to overwrite a tag then get a new tag for a changed input.
This module imports no provider package.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# What the builds read (docker/*.Dockerfile COPY these; .dockerignore filters the
# context): a change in any of these files changes the tag.
BUILD_INPUTS = (
    ".dockerignore",
    "README.md",
    "pyproject.toml",
    "app",
    "contracts",
    "functions",
    "docker",
)


def content_tag(paths: Sequence[str] = BUILD_INPUTS, root: Path = REPO_ROOT) -> str:
    """A tag naming the content of the build inputs (files under ``paths``).

    >>> content_tag(("pyproject.toml",)).startswith("c-")
    True
    """
    digest = hashlib.sha256()
    for relative in sorted(paths):
        base = root / relative
        files = [base] if base.is_file() else sorted(base.rglob("*"))
        for path in files:
            if not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return f"c-{digest.hexdigest()[:16]}"
