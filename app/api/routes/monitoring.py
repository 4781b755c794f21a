from fastapi import APIRouter

from app.api.deps import AdminUser, ContainerDep
from app.api.schemas import (
    DriftPublic,
    ErrorResponse,
    ModelPublic,
    MonitoringPublic,
    PredictionCountsPublic,
    RetrainingPublic,
    RollingAccuracyPublic,
    TrainingJobPublic,
    VersionCountsPublic,
)

router = APIRouter(prefix="/v1/monitoring", tags=["monitoring"])


@router.get(
    "",
    response_model=MonitoringPublic,
    responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}},
)
def monitoring(_admin: AdminUser, container: ContainerDep) -> MonitoringPublic:
    """Rolling feedback accuracy, prediction counts and drift: the figures ``/metrics`` exports."""
    snap = container.monitoring.snapshot()
    feedback = snap.feedback
    jobs = container.adapters.jobs.list(1)
    return MonitoringPublic(
        model=ModelPublic.from_ref(snap.model),
        feedback=RollingAccuracyPublic(
            model_version=feedback.model_version,
            window=feedback.window,
            labels=feedback.labels,
            correct=feedback.correct,
            accuracy=feedback.accuracy,
            threshold=snap.threshold,
            min_labels=snap.min_labels,
            below_threshold=snap.below_threshold,
        ),
        predictions=PredictionCountsPublic(
            since=snap.since,
            total=sum(c.count for c in snap.predictions.values()),
            by_model_version={
                version: VersionCountsPublic(
                    count=c.count, mean_confidence=c.mean_confidence, by_label=c.by_label
                )
                for version, c in snap.predictions.items()
            },
        ),
        drift=DriftPublic(
            model_version=snap.model.version if snap.model else None,
            window=snap.drift_window,
            inputs=snap.drift.inputs,
            min_inputs=snap.drift_min_inputs,
            psi=snap.drift.psi,
        ),
        retraining=RetrainingPublic(
            enabled=container.retraining.policy.enabled,
            cooldown_seconds=container.retraining.policy.cooldown_seconds,
            last_job=TrainingJobPublic.from_job(jobs[0]) if jobs else None,
        ),
    )
