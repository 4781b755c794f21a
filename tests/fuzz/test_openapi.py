"""Property-based tests of the whole API from its own OpenAPI schema (schemathesis).

Every operation gets generated valid and invalid requests, with an admin token
from the local dev issuer: no 5xx, every status documented, every body matching
its schema. CI runs a bounded number per operation; ``make fuzz`` runs many more
(``MLOPS_FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app.auth.dev import mint
from tests.fuzz.conftest import TALLY
from tests.unit.api.conftest import make_app

EXAMPLES = int(os.environ.get("MLOPS_FUZZ_EXAMPLES", "25"))

_data_dir = Path(tempfile.mkdtemp(prefix="mlops-fuzz-"))
app, _source, _jobs = make_app(_data_dir, auth="required")
TOKEN = mint(_data_dir / "dev-auth", "fuzzer", admin=True, minutes=24 * 60)
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
_seen: set[str] = set()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=os.environ.get("MLOPS_FUZZ_RANDOM") != "1",
)
def test_the_api_holds_its_schema_and_never_errors(case):
    excluded = []
    if case.operation.path == "/v1/documents" and case.method == "POST":
        # Which bytes make an image is not expressible in OpenAPI: a schema-valid
        # upload may rightly be 415 or 422.
        excluded.append(positive_data_acceptance)
    TALLY["cases"] += 1
    if case.operation.label not in _seen:
        _seen.add(case.operation.label)
        TALLY["operations"] += 1
    response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})
    if response.status_code >= 500:
        TALLY["server_errors"] += 1
    case.validate_response(response, excluded_checks=excluded)
