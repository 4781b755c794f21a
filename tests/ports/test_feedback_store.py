import pytest

from app.domain.predictions import PredictionNotFoundError
from app.ports import FeedbackStore
from tests.ports.samples import feedback, prediction


def test_adapter_satisfies_the_port(feedback_store):
    assert isinstance(feedback_store, FeedbackStore)


def test_recorded_predictions_can_be_fetched(feedback_store):
    feedback_store.record_predictions([prediction("p1"), prediction("p2")])
    got = feedback_store.get_prediction("p2")
    assert (got.label, got.model_version, got.text) == ("receipt", "1", "Ticket de caisse")


def test_unknown_prediction_raises(feedback_store):
    with pytest.raises(PredictionNotFoundError):
        feedback_store.get_prediction("nope")


def test_recent_returns_newest_first_and_limits(feedback_store):
    for i, label in enumerate(["receipt", "invoice", "letter"]):
        feedback_store.add(feedback(f"f{i}", f"p{i}", label))
    recent = feedback_store.recent(2)
    assert [f.id for f in recent] == ["f2", "f1"]
    assert recent[0].correct is False
    assert feedback_store.recent(10)[-1].correct is True


def test_recent_filters_by_model_version(feedback_store):
    for i, version in enumerate(["1", "2", "1", "2", "2"]):
        feedback_store.add(feedback(f"f{i}", f"p{i}", "invoice", version))
    assert [f.id for f in feedback_store.recent(2, model_version="2")] == ["f4", "f3"]
    assert [f.id for f in feedback_store.recent(10, model_version="1")] == ["f2", "f0"]
    assert not feedback_store.recent(10, model_version="9")


def test_a_subject_keeps_only_its_newest_label(feedback_store):
    feedback_store.add(feedback("f1", "p1", "invoice"))
    feedback_store.add(feedback("f2", "p2", "letter"))
    feedback_store.add(feedback("f3", "p1", "resume"))
    recent = feedback_store.recent(10)
    assert [(f.id, f.true_label) for f in recent] == [("f3", "resume"), ("f2", "letter")]
    assert [f.id for f in feedback_store.recent(10, model_version="1")] == ["f3", "f2"]
