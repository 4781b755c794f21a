"""The monitoring snapshot, and the retraining trigger that reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.adapters.local.records import SqliteFeedbackStore
from app.domain.identity import Principal
from app.domain.jobs import JobReason
from app.services.feedback import FeedbackService
from app.services.model_holder import ModelHolder
from app.services.monitoring import MonitoringService
from app.services.predictions import PredictionService
from app.services.retraining import RetrainingPolicy, RetrainingService
from tests.unit.fakes import FakeModelSource, FakeTrainingJobs

ALICE = Principal("alice")


class World:
    def __init__(self, tmp_path: Path, **monitoring: object) -> None:
        self.source = FakeModelSource({"champion": "1"})
        self.holder = ModelHolder(self.source)
        self.holder.refresh()
        self.store = SqliteFeedbackStore(tmp_path / "db.sqlite3")
        self.monitoring = MonitoringService(
            feedback=self.store,
            models=self.holder,
            **monitoring,  # type: ignore[arg-type]
        )
        self.jobs = FakeTrainingJobs()
        self.retraining = RetrainingService(
            self.monitoring, self.jobs, RetrainingPolicy(cooldown_seconds=3600)
        )
        self.predictions = PredictionService(models=self.holder, store=self.store)
        self.predictions.listeners.append(
            lambda b: self.monitoring.observe(
                b.model,
                [p.label for p in b.predictions],
                [p.confidence for p in b.predictions],
                b.texts,
            )
        )
        self.feedback = FeedbackService(records=None, store=self.store)  # type: ignore[arg-type]
        self.feedback.listeners.append(self.retraining.on_feedback)

    def label(self, text: str, true_label: str) -> None:
        batch = self.predictions.predict(ALICE, [text])
        self.feedback.for_prediction(ALICE, batch.ids[0], true_label)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path, window=10, threshold=0.8, min_labels=5)


def test_snapshot_counts_predictions_by_version_and_label(world):
    world.predictions.predict(ALICE, ["Facture 1", "Dear Sir", "facture 2"])
    world.source.aliases["champion"] = "2"
    world.holder.refresh()
    world.predictions.predict(ALICE, ["ticket"])
    snap = world.monitoring.snapshot()
    assert snap.predictions["1"].by_label == {"invoice": 2, "letter": 1}
    assert snap.predictions["2"].by_label == {"receipt": 1}
    assert snap.predictions["1"].mean_confidence == pytest.approx(0.9)
    assert snap.model.version == "2"


def test_rolling_accuracy_covers_the_last_window_of_the_serving_version(world):
    for _ in range(4):
        world.label("Facture", "receipt")  # wrong
    for _ in range(10):
        world.label("Facture", "invoice")  # right: pushes the wrong ones out of the window
    rolling = world.monitoring.snapshot().feedback
    assert (rolling.model_version, rolling.labels, rolling.correct) == ("1", 10, 10)
    assert rolling.accuracy == 1.0


def test_wrong_labels_start_exactly_one_job_and_the_cool_down_holds_the_next(world):
    for _ in range(4):
        world.label("Facture", "receipt")
    assert world.jobs.jobs == {}, "fewer labels than the minimum start nothing"
    world.label("Facture", "receipt")
    assert len(world.jobs.jobs) == 1
    (job,) = world.jobs.jobs.values()
    assert job.request.reason is JobReason.ACCURACY_BELOW_THRESHOLD
    assert job.request.include_feedback
    assert world.monitoring.snapshot().below_threshold

    world.jobs.finish(job.id)
    for _ in range(5):
        world.label("Facture", "receipt")
    assert len(world.jobs.jobs) == 1, "the cool-down holds a second trigger"


def test_labels_on_an_older_version_do_not_trigger(world):
    world.source.aliases["champion"] = "2"
    world.holder.refresh()
    served_by_2 = [world.predictions.predict(ALICE, [f"Facture {i}"]).ids[0] for i in range(6)]
    world.source.aliases["champion"] = "1"
    world.holder.refresh()
    for prediction_id in served_by_2:
        world.feedback.for_prediction(ALICE, prediction_id, "receipt")
    assert world.monitoring.rolling_accuracy("2").labels == 6, "enough wrong labels on 2"
    assert world.jobs.jobs == {}, "but 1 is serving: nothing to retrain"


def test_a_launcher_failure_does_not_fail_the_feedback(world, caplog):
    def broken(*_args: object, **_kwargs: object) -> None:
        raise ConnectionError("job service unreachable")

    world.jobs.start = broken  # type: ignore[method-assign]
    for _ in range(6):
        world.label("Facture", "receipt")
    assert len(world.store.recent(10)) == 6
    assert "could not start a retraining job" in caplog.text


def test_auto_retrain_off_starts_nothing(tmp_path):
    world = World(tmp_path, window=10, threshold=0.8, min_labels=1)
    world.retraining.policy = RetrainingPolicy(enabled=False)
    world.label("Facture", "receipt")
    assert world.jobs.jobs == {}
