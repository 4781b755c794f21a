"""``mlops train``: fit the classifier, score it on held-out documents, register it.

The held-out score is what a user's upload would get: documents generated with
an unseen seed, rendered, OCR'd and cleaned by the same code as the pipeline.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from app.settings import Settings
from app.training.dataset import (
    DatasetError,
    LabelledText,
    feedback_texts,
    generated_texts,
    load_data,
    merge,
)
from app.training.evaluation import Scores, score
from app.training.heldout import heldout_texts
from app.training.progress import bar

log = logging.getLogger(__name__)

# Held-out documents come from seeds far from any training seed.
HELDOUT_SEED_OFFSET = 7_919
# Below this many feedback texts, all of them train and none is held out to score.
MIN_FEEDBACK_TO_SCORE = 10


@dataclass
class TrainingRequest:
    data: Path | None = None
    generate_per_class: int | None = None
    heldout_per_class: int = 10
    seed: int = 0
    progress: bool = True
    promote: str = "if-better"  # "if-better" | "always" | "never"
    include_feedback: bool = False


@dataclass
class TrainingReport:
    version: str
    run_id: str
    train_size: int
    heldout: Scores
    champion_before: str | None
    champion_heldout: Scores | None
    promoted: bool
    seconds: float
    extra_scores: dict[str, Scores] = field(default_factory=dict)
    feedback_rows: int = 0

    def to_dict(self) -> dict[str, object]:
        """What ``--report-json`` writes, for the job launcher that ran the training."""
        return {
            "version": self.version,
            "run_id": self.run_id,
            "train_size": self.train_size,
            "feedback_rows": self.feedback_rows,
            "heldout_accuracy": self.heldout.accuracy,
            "heldout_macro_f1": self.heldout.macro_f1,
            "champion_before": self.champion_before,
            "promoted": self.promoted,
            "seconds": round(self.seconds, 3),
        }

    def summary(self) -> str:
        lines = [
            f"registered version {self.version} (run {self.run_id})"
            f" trained on {self.train_size} texts"
            + (f" ({self.feedback_rows} from feedback)" if self.feedback_rows else "")
            + f" in {self.seconds:.1f} s",
            f"held-out (image → OCR → classify, {self.heldout.support} unseen documents):"
            f" accuracy {self.heldout.accuracy:.3f}, macro-F1 {self.heldout.macro_f1:.3f}",
        ]
        for label, f1 in self.heldout.per_class_f1.items():
            lines.append(f"  {label:<18} F1 {f1:.3f}")
        for name, extra in self.extra_scores.items():
            lines.append(f"{name}: accuracy {extra.accuracy:.3f}, macro-F1 {extra.macro_f1:.3f}")
        if self.champion_heldout is not None:
            lines.append(
                f"champion before: version {self.champion_before},"
                f" held-out accuracy {self.champion_heldout.accuracy:.3f}"
            )
        lines.append(
            f"version {self.version} is now the champion"
            if self.promoted
            else f"version {self.version} stays challenger (champion is {self.champion_before})"
        )
        return "\n".join(lines)


def _split(rows: list[LabelledText], seed: int, share: float) -> tuple[list, list]:
    shuffled = rows[:]
    random.Random(seed).shuffle(shuffled)
    cut = int(len(shuffled) * share)
    return shuffled[cut:], shuffled[:cut]


def train(settings: Settings, request: TrainingRequest) -> TrainingReport:
    from app.model.estimator import build_estimator
    from app.services.drift import build_profile
    from app.training.registry import TrainingRegistry

    started = time.perf_counter()
    progress = bar(request.progress)
    engine = settings.ocr_engine.value
    rows: list[LabelledText] = []
    extra_heldout: dict[str, list[LabelledText]] = {}
    if request.data is not None:
        user_rows = load_data(
            request.data,
            engine=engine,
            languages=settings.ocr_languages,
            cache_root=settings.ocr_cache_dir,
            progress=progress,
        )
        train_rows, test_rows = _split(user_rows, request.seed, 0.2)
        rows.extend(train_rows)
        if test_rows:
            extra_heldout["user_heldout"] = test_rows
    per_class = request.generate_per_class
    if per_class is None and request.data is None:
        per_class = settings.default_train_per_class
    if per_class:
        _say(request, f"generating {per_class} documents per class")
        rows.extend(generated_texts(per_class, request.seed))
    feedback_rows: list[LabelledText] = []
    if request.include_feedback:
        feedback_rows = _feedback_rows(settings)
        _say(request, f"adding {len(feedback_rows)} distinct texts labelled through feedback")
        if len(feedback_rows) >= MIN_FEEDBACK_TO_SCORE:
            feedback_train, feedback_test = _split(feedback_rows, request.seed, 0.2)
            extra_heldout["feedback_heldout"] = feedback_test
        else:
            feedback_train = feedback_rows
        rows = merge(rows, feedback_train)
    if not rows:
        raise DatasetError("There is nothing to train on: give --data or --generate N.")

    heldout = heldout_texts(
        per_class=request.heldout_per_class,
        seed=request.seed + HELDOUT_SEED_OFFSET,
        engine=engine,
        languages=settings.ocr_languages,
        cache_root=settings.ocr_cache_dir,
        progress=progress,
    )

    _say(request, f"fitting on {len(rows)} texts")
    estimator = build_estimator(seed=request.seed)
    import pandas as pd

    estimator.fit(pd.DataFrame({"text": [r.text for r in rows]}), [r.label for r in rows])
    scores = {"heldout": score(estimator, heldout)}
    scores.update({name: score(estimator, subset) for name, subset in extra_heldout.items()})

    profile = build_profile([r.text for r in rows], [r.label for r in rows])
    _say(request, "registering in MLflow")
    registry = TrainingRegistry(settings.tracking_uri, settings.artifact_root, settings.model_name)
    champion = registry.champion_version()
    champion_scores = score(registry.load(champion), heldout) if champion else None
    registered = registry.log(
        estimator,
        params={
            "train_size": len(rows),
            "generate_per_class": per_class or 0,
            "data": str(request.data or ""),
            "heldout_per_class": request.heldout_per_class,
            "seed": request.seed,
            "ocr_engine": engine,
        },
        scores=scores,
        sample_texts=[r.text for r in heldout[:3]],
        profile=profile.to_dict(),
    )
    registry.set_alias("challenger", registered.version)
    registry.tag_version(
        registered.version,
        {
            "heldout_accuracy": f"{scores['heldout'].accuracy:.4f}",
            "heldout_macro_f1": f"{scores['heldout'].macro_f1:.4f}",
        },
    )
    promote = request.promote == "always" or (
        request.promote == "if-better"
        and (champion_scores is None or scores["heldout"].beats(champion_scores))
    )
    if promote:
        registry.set_alias("champion", registered.version)
    return TrainingReport(
        version=registered.version,
        run_id=registered.run_id,
        train_size=len(rows),
        heldout=scores["heldout"],
        champion_before=champion,
        champion_heldout=champion_scores,
        promoted=promote,
        seconds=time.perf_counter() - started,
        extra_scores={k: v for k, v in scores.items() if k != "heldout"},
        feedback_rows=len(feedback_rows),
    )


def _feedback_rows(settings: Settings) -> list[LabelledText]:
    from app.bootstrap import build_adapters

    return feedback_texts(build_adapters(settings).feedback)


def _say(request: TrainingRequest, message: str) -> None:
    if request.progress:
        print(f"[train] {message}", flush=True)
    log.info(message)
