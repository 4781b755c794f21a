from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.api.deps import ContainerDep
from app.api.schemas import ErrorResponse, HealthPublic, ModelPublic

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=HealthPublic,
    responses={503: {"model": HealthPublic, "description": "No model is loaded yet."}},
)
def health(container: ContainerDep) -> JSONResponse:
    """Liveness and the model version loaded; 503 until a model is loaded."""
    ref = container.holder.loaded
    if ref is None:
        return JSONResponse({"status": "unavailable", "model": None}, status_code=503)
    body = HealthPublic(status="ok", model=ModelPublic(name=ref.name, version=ref.version))
    return JSONResponse(body.model_dump())


@router.get("/livez", include_in_schema=False)
def live() -> dict[str, str]:
    """The process serves: what a platform's liveness, startup and readiness probes ask
    (Container Apps and Cloud Run count only 2xx). ``/health`` answers 503 until a model
    is loaded, and in the cloud the first model is trained through this same API, so a
    probe on it would never let the first replica take traffic. Not behind a token and
    not in the OpenAPI document: the gateways do not route it."""
    return {"status": "alive"}


__all__ = ["ErrorResponse", "router"]
