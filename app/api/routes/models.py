from fastapi import APIRouter

from app.api.deps import AdminUser, ContainerDep
from app.api.schemas import (
    ErrorResponse,
    ModelPublic,
    ModelsPublic,
    ModelVersionPublic,
    PromoteRequest,
    PromotionPublic,
)

router = APIRouter(prefix="/v1/models", tags=["models"])

_ADMIN_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorResponse},
    403: {"model": ErrorResponse},
}


@router.get("", response_model=ModelsPublic, responses=_ADMIN_ERRORS)
def list_models(_admin: AdminUser, container: ContainerDep) -> ModelsPublic:
    """Registered versions, newest first, with their aliases and training metrics."""
    return ModelsPublic(
        name=container.models.registry.model_name,
        serving=ModelPublic.from_ref(container.holder.loaded),
        versions=[ModelVersionPublic.from_info(v) for v in container.models.versions()],
    )


@router.post(
    "/{name}/aliases/champion",
    response_model=PromotionPublic,
    responses={
        **_ADMIN_ERRORS,
        404: {"model": ErrorResponse, "description": "No such model or version."},
        409: {"model": ErrorResponse, "description": "The version could not be loaded."},
    },
)
def promote(
    name: str, body: PromoteRequest, _admin: AdminUser, container: ContainerDep
) -> PromotionPublic:
    """Make a version the champion and serve it before answering.

    Rollback is promoting an older version. Requests in flight finish on the
    model they started with; none waits for the load.
    """
    promotion = container.models.promote(name, str(body.version))
    return PromotionPublic(
        name=name,
        version=promotion.version,
        previous_version=promotion.previous_version,
        serving=ModelPublic.from_ref(promotion.serving),
    )
