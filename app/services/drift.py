"""Input drift: how far recent inputs have moved from the data a model was trained on.

The statistic is the population stability index (PSI) over three cheap views of
an input: the predicted label, the text length and the share of words the
training data never had (OOV rate). PSI is a few lines of arithmetic; the
libraries that offer it (evidently, nannyml) pull in hundreds of megabytes of
dashboards, so it is computed here. Rule of thumb: < 0.1 stable, 0.1–0.25
moderate, > 0.25 significant drift.
"""

from __future__ import annotations

import bisect
import math
import re
import threading
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from app.domain.drift import OOV_EDGES, ReferenceProfile

_WORD = re.compile(r"[^\W\d_]{2,}")
# A share of 0 would make PSI infinite; this floor keeps one empty bin finite.
_EPSILON = 1e-4
VOCABULARY_SIZE = 5000


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def oov_rate(text: str, vocabulary: frozenset[str]) -> float:
    tokens = words(text)
    if not tokens:
        return 1.0
    return sum(t not in vocabulary for t in tokens) / len(tokens)


def bin_shares(values: Iterable[float], edges: Sequence[float]) -> list[float]:
    """Shares of ``values`` in the bins ``(-inf, e0], (e0, e1], ..., (en, inf)``."""
    counts = [0] * (len(edges) + 1)
    total = 0
    for value in values:
        counts[bisect.bisect_left(edges, value)] += 1
        total += 1
    return [c / total for c in counts] if total else [0.0] * len(counts)


def psi(expected: Sequence[float], actual: Sequence[float]) -> float:
    """Population stability index between two distributions over the same bins.

    Example::

        psi([0.5, 0.5], [0.5, 0.5])   # 0.0
        psi([0.5, 0.5], [0.9, 0.1])   # 0.88
    """
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, _EPSILON), max(a, _EPSILON)
        total += (a - e) * math.log(a / e)
    return round(total, 6)


def build_profile(texts: Sequence[str], labels: Sequence[str]) -> ReferenceProfile:
    """Profile training data: label shares, length deciles, vocabulary, OOV shares.

    The vocabulary comes from four fifths of the texts and the reference OOV
    shares are measured on the fifth it never saw, so the reference is "unseen
    text of the training kind" against the very vocabulary serving will use
    (the training texts against their own vocabulary would read as 0 and flag
    every real input as drift).
    """
    if not texts:
        raise ValueError("cannot profile an empty training set")
    label_counts = Counter(labels)
    lengths = sorted(len(t) for t in texts)
    edges = sorted({lengths[int(len(lengths) * q / 10)] for q in range(1, 10)})
    # Every fifth text is held back, so the held-back share covers every class
    # whatever the row order.
    held_back = list(texts[4::5]) or list(texts)
    vocabulary = _vocabulary(t for i, t in enumerate(texts) if i % 5 != 4)
    return ReferenceProfile(
        label_shares={k: v / len(labels) for k, v in sorted(label_counts.items())},
        length_edges=tuple(float(e) for e in edges),
        length_shares=tuple(bin_shares((len(t) for t in texts), edges)),
        oov_shares=tuple(bin_shares((oov_rate(t, vocabulary) for t in held_back), OOV_EDGES)),
        vocabulary=vocabulary,
    )


def _vocabulary(texts: Iterable[str]) -> frozenset[str]:
    document_frequency: Counter[str] = Counter()
    for text in texts:
        document_frequency.update(set(words(text)))
    return frozenset(w for w, _ in document_frequency.most_common(VOCABULARY_SIZE))


@dataclass(frozen=True)
class DriftReport:
    inputs: int
    psi: dict[str, float] | None  # None: no reference profile, or too few inputs yet


class DriftWindow:
    """The last ``size`` inputs served, reduced to the three features PSI compares.

    Thread-safe: requests add to it while a scrape reads it.
    """

    FEATURES = ("predicted_label", "text_length", "oov_rate")

    def __init__(self, size: int, *, min_inputs: int = 100) -> None:
        self._rows: deque[tuple[str, int, float]] = deque(maxlen=size)
        self._lock = threading.Lock()
        self.size = size
        # PSI over a handful of inputs is noise: below this, no figure is reported.
        self.min_inputs = min(min_inputs, size)

    def add(self, profile: ReferenceProfile | None, labels: Sequence[str], texts: Sequence[str]):
        vocabulary = profile.vocabulary if profile is not None else frozenset()
        rows = [
            (label, len(text), oov_rate(text, vocabulary))
            for label, text in zip(labels, texts, strict=True)
        ]
        with self._lock:
            self._rows.extend(rows)

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()

    def report(self, profile: ReferenceProfile | None) -> DriftReport:
        with self._lock:
            rows = list(self._rows)
        if profile is None or len(rows) < self.min_inputs:
            return DriftReport(inputs=len(rows), psi=None)
        labels = sorted(profile.label_shares)
        seen = Counter(r[0] for r in rows)
        return DriftReport(
            inputs=len(rows),
            psi={
                "predicted_label": psi(
                    [profile.label_shares[k] for k in labels],
                    [seen[k] / len(rows) for k in labels],
                ),
                "text_length": psi(
                    profile.length_shares, bin_shares((r[1] for r in rows), profile.length_edges)
                ),
                "oov_rate": psi(profile.oov_shares, bin_shares((r[2] for r in rows), OOV_EDGES)),
            },
        )
