from fastapi import APIRouter

from app.api.deps import ContainerDep, CurrentUser
from app.api.schemas import ErrorResponse, FeedbackPublic, FeedbackRequest

router = APIRouter(prefix="/v1/predictions", tags=["predictions"])


@router.post(
    "/{prediction_id}/feedback",
    status_code=201,
    response_model=FeedbackPublic,
    responses={404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
)
def prediction_feedback(
    prediction_id: str, body: FeedbackRequest, user: CurrentUser, container: ContainerDep
) -> FeedbackPublic:
    """Give the true label of a text classified by ``POST /v1/predict``."""
    fb = container.feedback.for_prediction(user, prediction_id, body.label)
    return FeedbackPublic.from_feedback(fb)
