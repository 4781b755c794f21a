"""The MLflow model registry as a :class:`ModelSource` (every deployment uses it).

MLflow is imported here only, lazily, so the OCR pipeline and the core pay for it
only when a model is actually resolved.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.adapters.artifacts import fetch, load_sklearn_model
from app.adapters.mlflow_rest import NOT_FOUND_CODES, MlflowRestClient
from app.domain.drift import ReferenceProfile
from app.domain.models import (
    ArtifactNotFoundError,
    ModelNotFoundError,
    ModelVersionInfo,
    RegistryUnavailableError,
)
from app.domain.predictions import ModelRef
from app.model.compiled import COMPILED_DIR, COMPILED_JSON, COMPILED_NPZ, CompiledModel
from app.model.serving import SklearnClassifier

log = logging.getLogger(__name__)

PROFILE_ARTIFACT = "reference_profile.json"
# Listing more than this many versions in the admin API is not useful.
MAX_VERSIONS = 100

if TYPE_CHECKING:
    from mlflow import MlflowClient


class MlflowModelSource:
    """Resolves aliases through the registry; loads artifacts straight from the store.

    It is both the :class:`~app.ports.ModelSource` the serving path uses and the
    :class:`~app.ports.ModelRegistry` the admin routes use.

    Example::

        source = MlflowModelSource("sqlite:///.mlops/mlflow.db", "document-classifier")
        model = source.load(source.resolve("champion"))
    """

    def __init__(self, tracking_uri: str, model_name: str, *, client: MlflowClient | None = None):
        self.tracking_uri = tracking_uri
        self.model_name = model_name
        self._client_instance = client
        # A tracking server is asked over REST on the serving path (resolve, load):
        # a cold start then never imports MLflow. A local database needs MLflow.
        self.rest = (
            MlflowRestClient(tracking_uri)
            if client is None and tracking_uri.startswith(("http://", "https://"))
            else None
        )

    @property
    def client(self) -> MlflowClient:
        if self._client_instance is None:
            from mlflow import MlflowClient

            # A serving process has no terminal to draw download progress bars on.
            os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
            self._client_instance = MlflowClient(
                tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri
            )
        return self._client_instance

    def resolve(self, alias: str) -> ModelRef:
        if self.rest is not None:
            try:
                pointer = self.rest.version_by_alias(self.model_name, alias)
            except ModelNotFoundError as exc:
                raise ModelNotFoundError(
                    f"No version of model {self.model_name!r} has the alias {alias!r}:"
                    " train one with `mlops train`."
                ) from exc
            return ModelRef(name=self.model_name, version=pointer.version)
        missing = (
            f"No version of model {self.model_name!r} has the alias {alias!r}:"
            " train one with `mlops train`."
        )
        with self._registry_errors(missing):
            version = self.client.get_model_version_by_alias(self.model_name, alias)
        return ModelRef(name=self.model_name, version=str(version.version))

    @contextlib.contextmanager
    def _registry_errors(self, missing: str) -> Iterator[None]:
        """MLflow's "no such model, version or alias" as :class:`ModelNotFoundError`
        (with ``missing`` as its message); anything else (a server that does not answer,
        a damaged database) as :class:`RegistryUnavailableError`, so a broken registry
        never reads as an empty one."""
        from mlflow.exceptions import MlflowException

        try:
            yield
        except MlflowException as exc:
            if exc.error_code in NOT_FOUND_CODES:
                raise ModelNotFoundError(missing) from exc
            raise RegistryUnavailableError(self._unavailable(exc.message)) from exc
        except Exception as exc:
            # The SQL store lets SQLAlchemy's own errors through (a damaged database).
            if type(exc).__module__.startswith("sqlalchemy"):
                raise RegistryUnavailableError(self._unavailable(str(exc).split("\n")[0])) from exc
            raise

    def _unavailable(self, reason: str) -> str:
        where = self.tracking_uri
        if where.startswith("sqlite:///"):
            return (
                f"The model registry database {where.removeprefix('sqlite:///')} cannot be"
                f" read ({reason}); restore it from a backup, or move it aside to start an"
                " empty registry."
            )
        return f"The model registry at {where} cannot be read now ({reason})."

    def load(self, ref: ModelRef) -> SklearnClassifier:
        if self.rest is not None:
            return self._load_rest(ref)
        return SklearnClassifier(ref, self.load_estimator(ref), profile=self.load_profile(ref))

    def load_profile(self, ref: ModelRef) -> ReferenceProfile | None:
        """The training-data profile logged with the version, for drift; ``None`` if absent."""
        from mlflow.exceptions import MlflowException

        try:
            run_id = self.client.get_model_version(ref.name, ref.version).run_id
            if not run_id:
                return None
            with tempfile.TemporaryDirectory() as tmp:
                path = self.client.download_artifacts(run_id, PROFILE_ARTIFACT, tmp)
                return ReferenceProfile.from_dict(json.loads(Path(path).read_text()))
        except (MlflowException, OSError, KeyError, ValueError) as exc:
            log.info("version %s: no drift profile (%s)", ref.version, exc)
            return None

    def _load_rest(self, ref: ModelRef) -> SklearnClassifier:
        """A cold start's path: the run's compiled arrays when it logged them (no skops,
        no pipeline to rebuild), else the pipeline; MLflow itself is never imported."""
        assert self.rest is not None
        try:
            run_id = self.rest.version(ref.name, ref.version).run_id
        except ModelNotFoundError as exc:
            raise ModelNotFoundError(
                f"Model {ref.name!r} version {ref.version} could not be loaded: {exc}"
            ) from exc
        root = self.rest.run_artifact_uri(run_id).rstrip("/") if run_id else None
        profile = self._profile_at(root, ref) if root else None
        compiled = self._compiled_at(root, ref) if root else None
        if compiled is not None:
            return SklearnClassifier.from_compiled(ref, compiled, profile=profile)
        return SklearnClassifier(ref, self.load_estimator(ref), profile=profile)

    def _profile_at(self, root: str, ref: ModelRef) -> ReferenceProfile | None:
        try:
            with tempfile.TemporaryDirectory() as tmp:
                path = fetch(f"{root}/{PROFILE_ARTIFACT}", Path(tmp) / PROFILE_ARTIFACT)
                return ReferenceProfile.from_dict(json.loads(path.read_text()))
        except (ArtifactNotFoundError, OSError, KeyError, ValueError) as exc:
            log.info("version %s: no drift profile (%s)", ref.version, exc)
            return None

    def _compiled_at(self, root: str, ref: ModelRef) -> CompiledModel | None:
        try:
            with tempfile.TemporaryDirectory() as tmp:
                for name in (COMPILED_JSON, COMPILED_NPZ):
                    fetch(f"{root}/{COMPILED_DIR}/{name}", Path(tmp) / name)
                return CompiledModel.load(Path(tmp))
        except (ArtifactNotFoundError, OSError, KeyError, ValueError) as exc:
            log.info("version %s: no compiled arrays, loading the pipeline (%s)", ref.version, exc)
            return None

    # --- ModelRegistry -------------------------------------------------------

    def versions(self) -> Sequence[ModelVersionInfo]:
        with self._registry_errors(f"No model {self.model_name!r} is registered."):
            found = self.client.search_model_versions(
                f"name = '{self.model_name}'", max_results=MAX_VERSIONS
            )
            versions = sorted(found, key=lambda v: int(v.version), reverse=True)
            # Search results carry no aliases; the registered model has them all.
            aliases: dict[str, list[str]] = {}
            if versions:
                registered = self.client.get_registered_model(self.model_name)
                for alias, version in (registered.aliases or {}).items():
                    aliases.setdefault(str(version), []).append(alias)
            return [
                ModelVersionInfo(
                    version=str(v.version),
                    aliases=tuple(sorted(aliases.get(str(v.version), ()))),
                    run_id=v.run_id or "",
                    created_at=datetime.fromtimestamp(v.creation_timestamp / 1000, UTC),
                    metrics=self._run_metrics(v.run_id),
                    tags=dict(v.tags or {}),
                )
                for v in versions
            ]

    def _run_metrics(self, run_id: str | None) -> dict[str, float]:
        from mlflow.exceptions import MlflowException

        if not run_id:
            return {}
        try:
            return dict(sorted(self.client.get_run(run_id).data.metrics.items()))
        except MlflowException:
            return {}

    def alias_version(self, alias: str) -> str | None:
        try:
            return self.resolve(alias).version
        except ModelNotFoundError:
            return None

    def set_alias(self, alias: str, version: str) -> None:
        with self._registry_errors(
            f"Model {self.model_name!r} has no version {version}: see GET /v1/models."
        ):
            self.client.get_model_version(self.model_name, version)
            self.client.set_registered_model_alias(self.model_name, alias, version)

    def load_estimator(self, ref: ModelRef) -> Any:
        if self.rest is not None:
            try:
                return load_sklearn_model(self.rest.download_uri(ref.name, ref.version))
            except (ModelNotFoundError, ArtifactNotFoundError) as exc:
                raise ModelNotFoundError(
                    f"Model {ref.name!r} version {ref.version} could not be loaded: {exc}"
                ) from exc
        import mlflow.sklearn

        with self._registry_errors(f"Model {ref.name!r} has no version {ref.version}."):
            uri = self.client.get_model_version_download_uri(ref.name, ref.version)
        from mlflow.exceptions import MlflowException

        try:
            return mlflow.sklearn.load_model(uri)
        except MlflowException as exc:
            raise ModelNotFoundError(
                f"Model {ref.name!r} version {ref.version} could not be loaded: {exc.message}"
            ) from exc
