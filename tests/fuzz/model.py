"""A small real classifier in a real local MLflow registry, for the fuzz session.

``app.training.train`` would do, but its held-out set goes through OCR and its
weakly regularised fit runs to ``max_iter``: a minute or more on 2 cores. The
fuzzer needs a model that the real ``MlflowModelSource`` loads and serves, not a
good one, so this fits the production estimator on generated texts only, with a
stronger regularisation that converges in a few iterations, and registers it
as champion the way training does.
"""

from __future__ import annotations

from app.settings import Settings

PER_CLASS = 10


def register_small_champion(settings: Settings) -> str:
    """Fit, log and promote a classifier; return its registry version."""
    import pandas as pd

    from app.model.estimator import build_estimator
    from app.services.drift import build_profile
    from app.training.dataset import generated_texts
    from app.training.evaluation import score
    from app.training.registry import TrainingRegistry

    rows = generated_texts(PER_CLASS, seed=0)
    texts, labels = [r.text for r in rows], [r.label for r in rows]
    estimator = build_estimator(c=1.0)
    estimator.fit(pd.DataFrame({"text": texts}), labels)
    registry = TrainingRegistry(settings.tracking_uri, settings.artifact_root, settings.model_name)
    registered = registry.log(
        estimator,
        params={"generate_per_class": PER_CLASS, "purpose": "fuzz"},
        scores={"heldout": score(estimator, rows)},
        sample_texts=texts[:3],
        profile=build_profile(texts, labels).to_dict(),
    )
    registry.set_alias("champion", registered.version)
    return registered.version
