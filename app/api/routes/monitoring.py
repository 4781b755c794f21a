from fastapi import APIRouter

from app.api.deps import AdminUser, ContainerDep
from app.api.schemas import ErrorResponse, MonitoringPublic, RetrainingPublic, TrainingJobPublic

router = APIRouter(prefix="/v1/monitoring", tags=["monitoring"])


@router.get(
    "",
    response_model=MonitoringPublic,
    responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}},
)
def monitoring(_admin: AdminUser, container: ContainerDep) -> MonitoringPublic:
    """Rolling feedback accuracy, prediction counts and drift: the figures ``/metrics`` exports."""
    jobs = container.adapters.jobs.list(1)
    policy = container.retraining.policy
    return MonitoringPublic.from_snapshot(
        container.monitoring.snapshot(),
        retraining=RetrainingPublic(
            enabled=policy.enabled,
            cooldown_seconds=policy.cooldown_seconds,
            last_job=TrainingJobPublic.from_job(jobs[0]) if jobs else None,
        ),
    )
