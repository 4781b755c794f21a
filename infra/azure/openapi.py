"""The app's HTTP operations, as API Management imports them: a checked-in OpenAPI file.

``openapi.json`` (next to this module) is the app's own OpenAPI document, cut down to what
the gateway needs (paths, methods, operation ids, path parameters). It is checked in so
the Pulumi program does not import the FastAPI app (and MLflow, scikit-learn...) to
deploy (infra imports no app code); ``tests/infra/azure/test_gateway.py`` fails when it
no longer matches the app's routes. Regenerate it with::

    .venv/bin/python -m tests.infra.azure.app_openapi

Routes the app mounts only in local mode (``/v1/uploads``, the local stand-in for
presigned uploads) are left out: in the cloud, browsers upload to Blob Storage.

Example::

    for op in load_operations():
        op.method, op.url_template, op.operation_id   # "GET", "/v1/documents/{document_id}", ...
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SPEC_PATH = Path(__file__).with_name("openapi.json")
LOCAL_ONLY_PREFIXES = ("/v1/uploads",)
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    url_template: str
    operation_id: str
    path_parameters: tuple[str, ...] = ()
    summary: str = ""

    @property
    def key(self) -> str:
        """``GET /health``."""
        return f"{self.method} {self.url_template}"


def operations_of(spec: dict[str, Any]) -> list[Operation]:
    """Every operation of an OpenAPI document, local-only routes excluded."""
    found = []
    for path, item in spec.get("paths", {}).items():
        if path.startswith(LOCAL_ONLY_PREFIXES):
            continue
        for method, op in item.items():
            if method not in METHODS:
                continue
            params = tuple(p["name"] for p in op.get("parameters", []) if p.get("in") == "path")
            found.append(
                Operation(
                    method=method.upper(),
                    url_template=path,
                    operation_id=op["operationId"],
                    path_parameters=params,
                    summary=op.get("summary", ""),
                )
            )
    return found


def load_operations(path: Path = SPEC_PATH) -> list[Operation]:
    return operations_of(json.loads(path.read_text()))
