"""What a model's training inputs looked like: the reference input drift is measured against."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# The bins of the out-of-vocabulary rate; a profile written with others cannot be compared.
OOV_EDGES = (0.05, 0.1, 0.2, 0.3, 0.5)


@dataclass(frozen=True)
class ReferenceProfile:
    """What the training inputs looked like, saved next to the model in the registry."""

    label_shares: dict[str, float]
    length_edges: tuple[float, ...]
    length_shares: tuple[float, ...]
    oov_shares: tuple[float, ...]
    vocabulary: frozenset[str] = field(repr=False)

    def to_dict(self) -> dict[str, object]:
        return {
            "label_shares": self.label_shares,
            "length_edges": list(self.length_edges),
            "length_shares": list(self.length_shares),
            "oov_edges": list(OOV_EDGES),
            "oov_shares": list(self.oov_shares),
            "vocabulary": sorted(self.vocabulary),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReferenceProfile:
        if list(data.get("oov_edges", OOV_EDGES)) != list(OOV_EDGES):
            raise ValueError("profile was written with other OOV bins")
        return cls(
            label_shares={str(k): float(v) for k, v in data["label_shares"].items()},
            length_edges=tuple(float(e) for e in data["length_edges"]),
            length_shares=tuple(float(s) for s in data["length_shares"]),
            oov_shares=tuple(float(s) for s in data["oov_shares"]),
            vocabulary=frozenset(str(w) for w in data["vocabulary"]),
        )
