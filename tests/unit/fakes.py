"""Fakes of the ports and of the OCR reader for unit tests (no network, no models)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from app.domain.models import ModelNotFoundError
from app.domain.predictions import ModelRef, Prediction


class KeywordClassifier:
    """Labels a text by the first keyword it contains: enough to tell wiring apart."""

    KEYWORDS: ClassVar[dict[str, str]] = {
        "facture": "invoice",
        "invoice": "invoice",
        "ticket": "receipt",
        "dear": "letter",
    }

    def __init__(self, ref: ModelRef) -> None:
        self.ref = ref
        self.labels = ("invoice", "letter", "receipt")

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        out = []
        for text in texts:
            lowered = text.lower()
            label = next((v for k, v in self.KEYWORDS.items() if k in lowered), "letter")
            probs = {name: (0.9 if name == label else 0.05) for name in self.labels}
            out.append(Prediction(label=label, confidence=0.9, probabilities=probs))
        return out


class FakeModelSource:
    def __init__(self, versions: dict[str, str] | None = None) -> None:
        self.aliases = dict(versions or {})
        self.loads = 0

    def resolve(self, alias: str) -> ModelRef:
        if alias not in self.aliases:
            raise ModelNotFoundError(f"no {alias}")
        return ModelRef("document-classifier", self.aliases[alias])

    def load(self, ref: ModelRef) -> KeywordClassifier:
        self.loads += 1
        return KeywordClassifier(ref)
