"""`mlops train` as the first start runs it: registered, scored through OCR, champion."""

from mlflow import MlflowClient

from app.settings import load_settings


def test_default_model_scores_at_least_095_through_image_ocr_classify(trained):
    report = trained.report
    assert report.heldout.support == 30
    assert report.heldout.accuracy >= 0.95, report.summary()


def test_first_version_is_registered_as_champion_and_challenger(trained):
    settings = load_settings(data_dir=trained.data_dir)
    client = MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)
    model = client.get_registered_model(settings.model_name)
    assert str(model.aliases["champion"]) == trained.report.version
    assert str(model.aliases["challenger"]) == trained.report.version
    run = client.get_run(trained.report.run_id)
    assert run.data.metrics["heldout_accuracy"] == trained.report.heldout.accuracy
    assert "heldout_macro_f1" in run.data.metrics
    artifacts = {a.path for a in client.list_artifacts(trained.report.run_id)}
    assert "confusion_heldout.png" in artifacts
