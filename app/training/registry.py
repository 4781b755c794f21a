"""Logging a trained classifier to MLflow and moving the champion/challenger aliases."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.model.compiled import COMPILED_DIR
from app.model.serving import compile_pipeline
from app.training.evaluation import Scores, confusion_png


@dataclass(frozen=True)
class RegisteredVersion:
    version: str
    run_id: str


class TrainingRegistry:
    """Example::

    registry = TrainingRegistry(settings.tracking_uri, settings.artifact_root, settings.model_name)
    version = registry.log(estimator, params, scores, sample_texts)
    registry.set_alias("champion", version.version)
    """

    def __init__(self, tracking_uri: str, artifact_root: str | None, model_name: str) -> None:
        from mlflow import MlflowClient

        self.tracking_uri = tracking_uri
        self.artifact_root = artifact_root
        self.model_name = model_name
        self.client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)

    def _experiment_id(self) -> str:
        experiment = self.client.get_experiment_by_name(self.model_name)
        if experiment is not None:
            return str(experiment.experiment_id)
        # An explicit artifact location keeps local artifacts under the data dir
        # instead of wherever the process happens to run.
        return str(
            self.client.create_experiment(self.model_name, artifact_location=self.artifact_root)
        )

    def champion_version(self) -> str | None:
        from mlflow.exceptions import MlflowException

        try:
            return str(self.client.get_model_version_by_alias(self.model_name, "champion").version)
        except MlflowException:
            return None

    def load(self, version: str) -> Any:
        import mlflow.sklearn

        uri = self.client.get_model_version_download_uri(self.model_name, version)
        return mlflow.sklearn.load_model(uri)

    def log(
        self,
        estimator: Any,
        *,
        params: dict[str, object],
        scores: dict[str, Scores],
        sample_texts: list[str],
        profile: dict[str, object] | None = None,
    ) -> RegisteredVersion:
        import mlflow
        import mlflow.sklearn
        import pandas as pd
        import sklearn
        from mlflow.models import infer_signature

        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)
        example = pd.DataFrame({"text": sample_texts[:3]})
        signature = infer_signature(example, estimator.predict(example))
        with mlflow.start_run(experiment_id=self._experiment_id()) as run:
            mlflow.log_params(params)
            if profile is not None:
                # Read by the serving app to measure input drift against this training set.
                mlflow.log_dict(profile, "reference_profile.json")
            compiled = compile_pipeline(estimator)
            if compiled is not None:
                # What a cold serving process loads instead of the pickled pipeline.
                with tempfile.TemporaryDirectory() as tmp:
                    compiled.save(Path(tmp))
                    mlflow.log_artifacts(tmp, COMPILED_DIR)
            for name, value in scores.items():
                mlflow.log_metrics(value.as_metrics(name))
                mlflow.log_figure(
                    confusion_png(value, f"{name} confusion"), f"confusion_{name}.png"
                )
            info = mlflow.sklearn.log_model(
                estimator,
                name="model",
                signature=signature,
                input_example=example,
                registered_model_name=self.model_name,
                # Explicit requirements: inferring them starts a subprocess and costs seconds.
                pip_requirements=[
                    f"scikit-learn=={sklearn.__version__}",
                    f"pandas=={pd.__version__}",
                ],
            )
        return RegisteredVersion(version=str(info.registered_model_version), run_id=run.info.run_id)

    def set_alias(self, alias: str, version: str) -> None:
        self.client.set_registered_model_alias(self.model_name, alias, version)

    def tag_version(self, version: str, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self.client.set_model_version_tag(self.model_name, version, key, value)
