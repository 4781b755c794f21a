from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.api.deps import ContainerDep
from app.api.schemas import ErrorResponse, HealthPublic, ModelPublic

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=HealthPublic,
    responses={
        503: {
            "model": HealthPublic,
            "description": "No model is loaded yet, or the records store cannot record"
            " documents now.",
        }
    },
)
def health(container: ContainerDep) -> JSONResponse:
    """The model version loaded and the records store's state; 503 until a model is
    loaded and while documents cannot be recorded."""
    ref = container.holder.loaded
    problem = container.storage.problem()
    body = HealthPublic(
        status="ok" if ref is not None and problem is None else "unavailable",
        model=ModelPublic(name=ref.name, version=ref.version) if ref is not None else None,
        storage=problem or "ok",
    )
    return JSONResponse(body.model_dump(), status_code=200 if body.status == "ok" else 503)


@router.get("/livez", include_in_schema=False)
def live() -> dict[str, str]:
    """The process serves: what a platform's liveness, startup and readiness probes ask
    (Container Apps and Cloud Run count only 2xx). ``/health`` answers 503 until a model
    is loaded, and in the cloud the first model is trained through this same API, so a
    probe on it would never let the first replica take traffic. Not behind a token and
    not in the OpenAPI document: the gateways do not route it."""
    return {"status": "alive"}


__all__ = ["ErrorResponse", "router"]
