from fastapi import APIRouter, Query

from app.api.deps import AdminUser, ContainerDep
from app.api.schemas import ErrorResponse, TrainingJobCreate, TrainingJobList, TrainingJobPublic

router = APIRouter(prefix="/v1/training-jobs", tags=["training"])

_ADMIN_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorResponse},
    403: {"model": ErrorResponse},
}


@router.post(
    "",
    status_code=202,
    response_model=TrainingJobPublic,
    responses={**_ADMIN_ERRORS, 409: {"model": ErrorResponse, "description": "A job is running."}},
)
def start_job(
    admin: AdminUser, container: ContainerDep, body: TrainingJobCreate | None = None
) -> TrainingJobPublic:
    """Start a retraining job now; follow it with ``GET /v1/training-jobs/{id}``."""
    body = body or TrainingJobCreate()
    job = container.retraining.start_manual(
        admin,
        generate_per_class=body.generate_per_class,
        heldout_per_class=body.heldout_per_class,
        promote=body.promote,
        include_feedback=body.include_feedback,
    )
    return TrainingJobPublic.from_job(job)


@router.get("", response_model=TrainingJobList, responses=_ADMIN_ERRORS)
def list_jobs(
    _admin: AdminUser, container: ContainerDep, limit: int = Query(20, ge=1, le=200)
) -> TrainingJobList:
    """Newest first."""
    return TrainingJobList(
        jobs=[TrainingJobPublic.from_job(j) for j in container.adapters.jobs.list(limit)]
    )


@router.get(
    "/{job_id}",
    response_model=TrainingJobPublic,
    responses={**_ADMIN_ERRORS, 404: {"model": ErrorResponse}},
)
def get_job(job_id: str, _admin: AdminUser, container: ContainerDep) -> TrainingJobPublic:
    """Status (queued, running, succeeded, failed), log tail and the version it registered."""
    return TrainingJobPublic.from_job(container.adapters.jobs.get(job_id))
