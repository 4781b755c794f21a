"""The MLflow model registry as a :class:`ModelSource` (every deployment uses it).

MLflow is imported here only, lazily, so the OCR pipeline and the core pay for it
only when a model is actually resolved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.domain.models import ModelNotFoundError
from app.domain.predictions import ModelRef
from app.model.serving import SklearnClassifier

if TYPE_CHECKING:
    from mlflow import MlflowClient


class MlflowModelSource:
    """Resolves aliases through the registry; loads artifacts straight from the store.

    Example::

        source = MlflowModelSource("sqlite:///.mlops/mlflow.db", "document-classifier")
        model = source.load(source.resolve("champion"))
    """

    def __init__(self, tracking_uri: str, model_name: str, *, client: MlflowClient | None = None):
        self.tracking_uri = tracking_uri
        self.model_name = model_name
        self._client_instance = client

    @property
    def client(self) -> MlflowClient:
        if self._client_instance is None:
            from mlflow import MlflowClient

            self._client_instance = MlflowClient(
                tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri
            )
        return self._client_instance

    def resolve(self, alias: str) -> ModelRef:
        from mlflow.exceptions import MlflowException

        try:
            version = self.client.get_model_version_by_alias(self.model_name, alias)
        except MlflowException as exc:
            raise ModelNotFoundError(
                f"No version of model {self.model_name!r} has the alias {alias!r}:"
                " train one with `mlops train`."
            ) from exc
        return ModelRef(name=self.model_name, version=str(version.version))

    def load(self, ref: ModelRef) -> SklearnClassifier:
        return SklearnClassifier(ref, self.load_estimator(ref))

    def load_estimator(self, ref: ModelRef) -> Any:
        import mlflow.sklearn
        from mlflow.exceptions import MlflowException

        try:
            uri = self.client.get_model_version_download_uri(ref.name, ref.version)
            return mlflow.sklearn.load_model(uri)
        except MlflowException as exc:
            raise ModelNotFoundError(
                f"Model {ref.name!r} version {ref.version} could not be loaded: {exc.message}"
            ) from exc
