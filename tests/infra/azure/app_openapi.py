"""The app's OpenAPI document, trimmed to what API Management imports: the source of
``infra/azure/openapi.json``, which the program reads instead of importing the app.

Regenerate the checked-in file after changing the app's routes::

    .venv/bin/python -m tests.infra.azure.app_openapi
"""

from __future__ import annotations

import json
from typing import Any

from infra.azure.openapi import SPEC_PATH, operations_of


def app_spec() -> dict[str, Any]:
    """The running app's OpenAPI document, trimmed (imports the whole app: tests, tooling)."""
    from app.api.main import create_app
    from app.settings import Settings

    full = create_app(Settings.model_validate({"cloud": "local"})).openapi()
    paths: dict[str, Any] = {}
    for op in operations_of(full):
        paths.setdefault(op.url_template, {})[op.method.lower()] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in op.path_parameters
            ],
        }
    return {"openapi": full["openapi"], "info": full["info"], "paths": paths}


def main() -> None:
    """Write the app's trimmed document to infra/azure/openapi.json."""
    SPEC_PATH.write_text(json.dumps(app_spec(), indent=2) + "\n")
    print(f"wrote {SPEC_PATH}")


if __name__ == "__main__":
    main()
