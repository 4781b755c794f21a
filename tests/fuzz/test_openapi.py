"""Property-based tests of the whole API from its own OpenAPI schema (schemathesis).

Every operation gets generated valid and invalid requests from three callers
(``admin``, ``user``, ``other``) against the app served by the real bootstrap
and a real MLflow model (``tests/fuzz/served.py``). Path parameters are
generated ids mixed with real ones (``user``'s document and prediction, a
training job, an upload token, the model's name), so ownership and the paths
behind a found object are reached. Properties: no 5xx; every status documented
and every body matching its schema; ``user`` and ``other`` get 403 on admin
routes; ``other`` gets 404, never 2xx, on ``user``'s ids. CI runs a bounded
number per operation; ``make fuzz`` runs many more (``MLOPS_FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app.api.main import create_app
from tests.fuzz.conftest import ITEMS, TALLY
from tests.fuzz.served import OWNER, ROLES, STARTED, Served, fuzz_settings

pytestmark = pytest.mark.slow  # fits and registers a model, OCRs a document

EXAMPLES = int(os.environ.get("MLOPS_FUZZ_EXAMPLES", "25"))

# The document only: this app is never started, the served one answers the cases.
_schema_app = create_app(fuzz_settings(Path(tempfile.mkdtemp(prefix="mlops-fuzz-schema-"))))
schema = schemathesis.openapi.from_dict(_schema_app.openapi())
schema.app = STARTED

ADMIN_ROUTES = ("/v1/models", "/v1/training-jobs", "/v1/monitoring")
OWNED = ("document_id", "prediction_id")
CROSS_USER_OPERATIONS = (
    "GET /v1/documents/{document_id}",
    "POST /v1/documents/{document_id}/feedback",
    "POST /v1/predictions/{prediction_id}/feedback",
)


def _refused_before_identity(response: Any) -> bool:
    """A body too large, or one that does not parse, is answered before the token is read
    (FastAPI decodes JSON before it runs dependencies, and calls that a 422)."""
    status = response.status_code
    return status in (400, 413) or (status == 422 and "JSON decode error" in response.text)


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
    """The generated parameters, or the same with one swapped for a real id."""
    if not isinstance(path_parameters, dict):  # none, or a negative case's non-object
        return st.just(path_parameters)
    swaps = [
        {**path_parameters, name: real}
        for name, real in STARTED.real_ids.items()
        if name in path_parameters
    ]
    return st.sampled_from([path_parameters, *swaps])


@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=os.environ.get("MLOPS_FUZZ_RANDOM") != "1",
)
def test_the_api_holds_its_schema_and_never_errors(
    case, role: str, served: Served, fuzz_item: str
) -> None:
    label = case.operation.label
    TALLY[f"cases:{role}"] += 1
    TALLY[f"cases:{fuzz_item}"] += 1
    excluded = []
    if case.operation.path == "/v1/documents" and case.method == "POST":
        # Which bytes make an image is not expressible in OpenAPI: a schema-valid
        # upload may rightly be 415 or 422.
        excluded.append(positive_data_acceptance)
    response = case.call(headers=served.headers(role))
    if response.status_code >= 500:
        TALLY["server_errors"] += 1
    case.validate_response(response, excluded_checks=excluded)
    assert response.status_code < 500, f"{role}: {label} answered {response.status_code}"
    _holds_role(case, role, response, served)


def _holds_role(case: Any, role: str, response: Any, served: Served) -> None:
    label, status = case.operation.label, response.status_code
    if case.method.upper() != case.operation.method.upper():
        return  # the unsupported-method check: 405 before any route runs
    if role != "admin" and case.operation.path.startswith(ADMIN_ROUTES):
        assert status == 403 or _refused_before_identity(response), (
            f"{role} got {status} from admin route {label}"
        )
        TALLY["admin_refused"] += status == 403
    params = case.path_parameters or {}
    if not any(params.get(name) == served.real_ids[name] for name in OWNED):
        return
    if role == "other":
        # 422 is what any id gets with an invalid body: it says nothing of the object.
        assert status in (404, 422) or _refused_before_identity(response), (
            f"other got {status} on {OWNER}'s {label}"
        )
        TALLY["cross_user_404"] += status == 404
        TALLY[f"cross_user_404:{label}"] += status == 404
    elif role == OWNER and 200 <= status < 300:
        TALLY[f"owner_reached:{label}"] += 1


def test_every_role_fuzzed_every_operation_and_crossed_real_ids() -> None:
    """A run that generated nothing, or never used a real id, must not pass."""
    if not ITEMS:
        pytest.skip("the fuzz test was not selected")
    empty = sorted(item for item in ITEMS if not TALLY[f"cases:{item}"])
    assert not empty, f"no cases generated for: {empty}"
    refusable = [
        item
        for item in ITEMS
        if not item.startswith("admin:") and item.split(" ", 1)[1].startswith(ADMIN_ROUTES)
    ]
    if refusable:
        assert TALLY["admin_refused"], "no non-admin case was refused an admin route"
    for label in CROSS_USER_OPERATIONS:
        if f"other:{label}" in ITEMS:
            assert TALLY[f"cross_user_404:{label}"], f"other never got 404 on {OWNER}'s id: {label}"
    if any(f"{OWNER}:{label}" in ITEMS for label in CROSS_USER_OPERATIONS):
        reached = sum(TALLY[f"owner_reached:{label}"] for label in CROSS_USER_OPERATIONS)
        assert reached, f"{OWNER} never reached its own document or prediction"
