"""The default model, trained once per test session the way a first start does: shared
by the end-to-end tests and the fault suite (a pytest plugin of tests/conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass
class TrainedRegistry:
    data_dir: Path
    report: Any  # app.training.train.TrainingReport


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> TrainedRegistry:
    from app.settings import load_settings
    from app.training.train import TrainingRequest, train

    data_dir = tmp_path_factory.mktemp("mlops-data")
    settings = load_settings(data_dir=data_dir)
    report = train(
        settings,
        TrainingRequest(
            generate_per_class=settings.default_train_per_class,
            heldout_per_class=5,
            progress=False,
        ),
    )
    return TrainedRegistry(data_dir=data_dir, report=report)
