"""The drawn content of a synthetic document: pages of lines plus layout hints.

The lines are the single source of truth: the renderer draws exactly their text (it may
break a too-long line at a space, which only changes whitespace), so `SyntheticDocument.text`
is the OCR ground truth.
"""

from dataclasses import dataclass
from typing import Any

# Roles the renderer understands. Consecutive "th"/"td" lines form one table, consecutive
# "kv" lines one label/value block, consecutive "total" lines one right-hand totals block.
ROLES = frozenset({"title", "heading", "body", "small", "kv", "th", "td", "total", "mrz", "label"})


@dataclass(frozen=True)
class Line:
    text: str
    role: str = "body"
    cells: tuple[str, ...] = ()  # table / kv / total rows; text is the cells joined by spaces
    aligns: str = ""  # per cell: "l", "r" or "c"; empty means left, numbers right
    align: str = ""  # "left" | "center" | "right"; empty lets the renderer choose
    bold: bool = False
    scale: float = 1.0  # font size relative to what the role gets
    space_before: float = 0.0  # extra vertical space, in body line heights
    rule_below: bool = False  # graphic rule, never part of the text
    group: int = 0  # identity documents: 0 = front of the card, 1 = back

    @property
    def units(self) -> float:
        """Rough height in body lines, used by builders to decide page breaks."""
        size = {"title": 2.2, "heading": 1.5}.get(self.role, 1.0) * self.scale
        return size + self.space_before


def row(*cells: str, role: str = "td", aligns: str = "", **hints: Any) -> Line:
    """A multi-cell line whose text is the non-empty cells joined by single spaces."""
    text = " ".join(c for c in cells if c)
    return Line(text=text, role=role, cells=tuple(cells), aligns=aligns, **hints)


@dataclass(frozen=True)
class SyntheticDocument:
    label: str
    lang: str
    seed: int
    pages: tuple[tuple[Line, ...], ...]

    @property
    def text(self) -> str:
        return "\n\n".join("\n".join(line.text for line in page) for page in self.pages)

    def page_text(self, index: int) -> str:
        return "\n".join(line.text for line in self.pages[index])
