"""Ports: the small interfaces the core needs from the outside world.

One adapter per cloud plus ``local`` implements each. Services depend on these
Protocols only, so the same pipeline runs on a laptop, in a Lambda, an Azure
Function or a Cloud Run service.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from datetime import datetime

    from app.domain.documents import (
        DocumentPrediction,
        DocumentRecord,
        DocumentStatus,
        NewDocument,
        PresignedUpload,
    )
    from app.domain.drift import ReferenceProfile
    from app.domain.feedback import Feedback
    from app.domain.jobs import JobLock, JobRecord, RunState, TrainingJob
    from app.domain.models import ModelVersionInfo
    from app.domain.predictions import ModelRef, Prediction, PredictionRecord


@runtime_checkable
class ObjectStore(Protocol):
    """Blob storage for uploaded documents.

    Example::

        version = store.put("uploads/8f0c", b"%PDF-1.7...", content_type="application/pdf")
        assert store.get("uploads/8f0c").startswith(b"%PDF")
    """

    bucket: str

    def put(self, key: str, data: bytes, *, content_type: str) -> str:
        """Store ``data`` under ``key``; return its version (etag or generation)."""
        ...

    def get(self, key: str) -> bytes:
        """Return the bytes under ``key``; raise ``ObjectNotFoundError`` if absent."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key``; deleting an absent key is not an error."""
        ...

    def exists(self, key: str) -> bool:
        """Whether bytes are stored under ``key`` (without reading them)."""
        ...

    def presign_upload(
        self, key: str, *, content_type: str, max_bytes: int, expires_seconds: int
    ) -> PresignedUpload:
        """Let a client upload up to ``max_bytes`` of ``content_type`` to ``key``
        directly, for ``expires_seconds``; the storage event then starts the pipeline."""
        ...


@runtime_checkable
class DocumentRecords(Protocol):
    """The processing state of every uploaded document.

    ``claim`` is the idempotency guard: of two deliveries of the same upload
    event, exactly one gets the record back and processes it.

    Example::

        records.create(NewDocument(id="d1", owner="u1", object_key="uploads/d1", ...))
        assert records.claim("d1", lease_seconds=300) is not None
        assert records.claim("d1", lease_seconds=300) is None  # duplicate delivery
    """

    def create(self, document: NewDocument) -> DocumentRecord:
        """Create a ``pending`` record; raise ``DocumentExistsError`` if the id is taken."""
        ...

    def get(self, document_id: str) -> DocumentRecord:
        """Return the record; raise ``DocumentNotFoundError`` if absent."""
        ...

    def claim(self, document_id: str, *, lease_seconds: float) -> DocumentRecord | None:
        """Atomically move a ``pending`` record (or a ``processing`` one whose lease
        expired) to ``processing`` and return it; return ``None`` when another
        worker holds it or it is finished."""
        ...

    def release(self, document_id: str, *, attempt: int) -> bool:
        """Hand a claim back after a transient failure: a ``processing`` record still
        held by claim number ``attempt`` returns to ``pending``, that attempt uncounted,
        so the next delivery claims it at once instead of waiting out the lease. False
        when the record moved on (finished, or claimed again after the lease) or is absent."""
        ...

    def complete(
        self,
        document_id: str,
        *,
        text: str,
        language: str,
        prediction: DocumentPrediction,
        size: int | None = None,
    ) -> DocumentRecord:
        """Mark the record ``done`` with its text and prediction (and the size of the
        bytes read, for a document uploaded straight to storage)."""
        ...

    def fail(self, document_id: str, *, reason: str) -> DocumentRecord:
        """Mark the record ``failed`` with a reason a user can read."""
        ...

    def list(
        self,
        *,
        owner: str | None = None,
        status: DocumentStatus | None = None,
        limit: int = 100,
    ) -> Sequence[DocumentRecord]:
        """Newest first, optionally filtered by owner and status."""
        ...

    def requeue_stuck(self, *, older_than_seconds: float) -> int:
        """Move ``processing`` records claimed longer ago than this back to
        ``pending`` (their worker died); return how many moved."""
        ...


@runtime_checkable
class FeedbackStore(Protocol):
    """Predictions served and the true labels users give back.

    Example::

        store.record_predictions([PredictionRecord(id="p1", ...)])
        store.add(Feedback(id="f1", subject=FeedbackSubject.PREDICTION, subject_id="p1", ...))
        assert store.recent(10)[0].subject_id == "p1"
    """

    def record_predictions(self, predictions: Sequence[PredictionRecord]) -> None: ...

    def get_prediction(self, prediction_id: str) -> PredictionRecord:
        """Raise ``PredictionNotFoundError`` if absent."""
        ...

    def add(self, feedback: Feedback) -> Feedback:
        """Store the label; a subject (a document or a prediction) keeps only its newest
        label, so one user cannot weigh on the rolling accuracy by repeating it."""
        ...

    def recent(self, limit: int, *, model_version: str | None = None) -> Sequence[Feedback]:
        """The ``limit`` newest feedback items, newest first, optionally only those
        about predictions of one model version."""
        ...


class Classifier(Protocol):
    """A loaded model: pure in-memory inference.

    ``profile`` describes its training inputs, for drift; ``None`` when the
    registry has none for this version.
    """

    ref: ModelRef
    labels: tuple[str, ...]
    profile: ReferenceProfile | None

    def predict(self, texts: Sequence[str]) -> list[Prediction]: ...


@runtime_checkable
class ModelSource(Protocol):
    """Where the serving model comes from (the MLflow registry in every deployment).

    Example::

        ref = source.resolve("champion")      # ModelRef(name="document-classifier", version="3")
        model = source.load(ref)              # no registry call per request after this
    """

    def resolve(self, alias: str) -> ModelRef:
        """Return the version behind ``alias``; raise ``ModelNotFoundError`` if none."""
        ...

    def load(self, ref: ModelRef) -> Classifier: ...


@runtime_checkable
class ModelRegistry(Protocol):
    """The admin side of the registry: list versions, move aliases.

    Example::

        [v.version for v in registry.versions()]   # ['3', '2', '1'], newest first
        registry.set_alias("champion", "2")        # rollback = promote an older one
    """

    model_name: str

    def versions(self) -> Sequence[ModelVersionInfo]:
        """Registered versions, newest first, with aliases and training metrics."""
        ...

    def alias_version(self, alias: str) -> str | None:
        """The version behind ``alias``, or ``None``."""
        ...

    def set_alias(self, alias: str, version: str) -> None:
        """Point ``alias`` at ``version``; raise ``ModelNotFoundError`` if it does not exist."""
        ...


@runtime_checkable
class JobStore(Protocol):
    """Training job records and the start lock (the cool-down), shared by the replicas.

    Example::

        store.create(job, cooldown_since=now - timedelta(hours=1))  # None: busy or cooling down
        store.set_run(job.id, "arn:aws:ecs:...:task/mlops/8f0c")
        store.finish(replace(job, status=JobStatus.SUCCEEDED, ...))  # None: finished already
    """

    def create(self, job: TrainingJob, *, cooldown_since: datetime | None) -> JobRecord | None:
        """Record a queued job and hold the lock for it, in one atomic step. With
        ``cooldown_since``, only if no job holds the lock and no automatic job was
        created after it (of replicas racing, one creates); None otherwise."""
        ...

    def get(self, job_id: str) -> JobRecord:
        """Raise ``JobNotFoundError`` if absent."""
        ...

    def list(self, limit: int) -> Sequence[JobRecord]:
        """Newest first."""
        ...

    def lock(self) -> JobLock:
        """The jobs holding the lock and when the last automatic job was created."""
        ...

    def set_run(self, job_id: str, run: str) -> None:
        """Record the run the runner started for the job."""
        ...

    def mark_running(self, job_id: str, started_at: datetime) -> None:
        """Record the start of a job still ``queued`` (a job never goes back)."""
        ...

    def finish(self, job: TrainingJob) -> TrainingJob | None:
        """Record a finished job's outcome and release its lock, once: None when it had
        finished already (another replica recorded it first)."""
        ...

    def release(self, job_id: str) -> None:
        """Take a job that no longer exists out of the lock."""
        ...


@runtime_checkable
class JobRunner(Protocol):
    """Runs ``mlops train`` somewhere and says how a run goes: a local subprocess, an
    ECS task, a Container Apps job or a Cloud Run job. Vendor errors become
    ``JobStartError`` (a start refused) and ``RunnerUnavailableError`` (no answer).

    Example::

        run = runner.launch(job)                 # "arn:aws:ecs:...:task/mlops/8f0c"
        runner.describe(job, run).phase          # RunPhase.RUNNING; None: forgotten
    """

    service: str  # who runs the jobs, in messages ("ECS")
    run_noun: str  # what one run is called there ("task")
    log_grace_seconds: float  # how late the log may show a run's last lines
    no_report: str  # why a run that succeeded without its report in the log failed

    def launch(self, job: TrainingJob) -> str:
        """Start ``job.request.command()``; the run's name."""
        ...

    def find(self, job: TrainingJob) -> str | None:
        """The run a start of ``job`` created when its name was not recorded (the server
        died meanwhile); None when there is none or the service cannot tell."""
        ...

    def describe(self, job: TrainingJob, run: str) -> RunState | None:
        """The run as the service sees it now, with its log; None once it forgot it."""
        ...

    def logs(self, job: TrainingJob, run: str) -> list[str]:
        """The run's last log lines, oldest first (the report among them)."""
        ...


@runtime_checkable
class EventLedger(Protocol):
    """Which deliveries of storage events were handled: storage events come at least
    once, and an upload must be processed at most once per object version.

    ``begin`` writes an in-progress marker with a lease (a conditional write: of two
    concurrent deliveries, one begins); ``finish`` marks it done, remembered for
    ``ttl_seconds``; ``release`` deletes it after a failure so a retry may begin, but only
    while the marker is still this delivery's own (a delivery that took it over after
    the lease ended keeps it).

    Example::

        key = upload.idempotency_key                  # "uploads/uploads/8f0c@0x8DC"
        if ledger.begin(key, lease_seconds=900, ttl_seconds=604800):
            try:
                process(upload)
            except Exception:
                ledger.release(key)                   # the redelivery may begin again
                raise
            ledger.finish(key)                        # later deliveries are duplicates
    """

    def begin(self, key: str, *, lease_seconds: float, ttl_seconds: int) -> bool:
        """True when this delivery should process ``key``: nobody did, the last attempt
        released it, its lease ended or its marker expired. False for a duplicate or
        while another delivery holds it."""
        ...

    def finish(self, key: str) -> None:
        """``key`` was handled; later deliveries are duplicates until the ``ttl_seconds``
        given to ``begin`` have passed."""
        ...

    def release(self, key: str) -> None:
        """This delivery failed: the next one may process ``key``. No effect on a marker
        that is finished or held by another delivery."""
        ...
