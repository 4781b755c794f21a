"""Shared machinery for the per-class content builders.

`Ctx` bundles the per-document randomness (a private `random.Random`, a seeded Faker) with
locale-aware formatting; `Pages` accumulates lines and decides page breaks.
"""

import datetime as dt
import random
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from faker import Faker

from app.synth.fakers import seeded_faker
from app.synth.formatting import MoneyStyle, format_date, group_digits, money_style
from app.synth.model import Line, row

T = TypeVar("T")

# Documents are dated in a fixed window so that output never depends on today's date.
_EPOCH = dt.date(2018, 1, 1)
_SPAN_DAYS = 8 * 365


@dataclass
class Ctx:
    lang: str
    locale: str
    rng: random.Random
    fake: Faker
    money_style: MoneyStyle
    date_style: str
    colon: str  # label suffix, fixed per document: "Date:" vs "Date :" (fr) vs "Date"

    @classmethod
    def create(cls, lang: str, seed: int) -> "Ctx":
        rng = random.Random(seed)
        locale = "fr_FR" if lang == "fr" else ("en_US" if rng.random() < 0.5 else "en_GB")
        # Faker gets its own stream: sharing the seed would correlate its picks with ours.
        fake = seeded_faker(locale, rng.getrandbits(48))
        style = money_style(locale, rng.random())
        other = "iso" if lang == "en" else "dots"
        date_style = rng.choice(("num", "num", "num", "long", "abbr", other))
        colon = rng.choice((":", ":", "") if lang == "en" else (" :", " :", ":", ""))
        return cls(lang, locale, rng, fake, style, date_style, colon)

    # -- randomness -------------------------------------------------------------------
    def pick(self, options: Sequence[T]) -> T:
        return options[self.rng.randrange(len(options))]

    def tr(self, en: Sequence[T], fr: Sequence[T]) -> T:
        """Pick one of the variants of the document's language."""
        return self.pick(en if self.lang == "en" else fr)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def sample(self, options: Sequence[T], k: int) -> list[T]:
        return self.rng.sample(list(options), min(k, len(options)))

    def digits(self, n: int) -> str:
        return "".join(str(self.rng.randrange(10)) for _ in range(n))

    def letters(self, n: int) -> str:
        return "".join(chr(65 + self.rng.randrange(26)) for _ in range(n))

    def lab(self, label: str) -> str:
        return label + self.colon

    # -- values -----------------------------------------------------------------------
    def day(self, start: dt.date = _EPOCH, span_days: int = _SPAN_DAYS) -> dt.date:
        return start + dt.timedelta(days=self.rng.randrange(span_days))

    def date(self, day: dt.date, style: str | None = None) -> str:
        return format_date(day, self.locale, style or self.date_style)

    def money(self, cents: int) -> str:
        return self.money_style.money(cents)

    def amount(self, cents: int) -> str:
        return self.money_style.number(cents)

    def person(self) -> tuple[str, str]:
        """(first name, last name)."""
        return self.fake.first_name(), self.fake.last_name()

    def address_lines(self) -> list[str]:
        return self.fake.address().split("\n")

    def iban(self) -> str:
        return group_digits(self.fake.iban())

    def phone(self) -> str:
        return self.fake.phone_number()

    @property
    def currency(self) -> str:
        return {"fr_FR": "EUR", "en_GB": "GBP"}.get(self.locale, "USD")


@dataclass
class Pages:
    """Accumulates lines; `budget` is the capacity of a page in body-line units."""

    budget: float = 42.0
    pages: list[list[Line]] = field(default_factory=lambda: [[]])
    _space: float = 0.0

    def add(self, line: Line) -> None:
        if self._space:
            line = replace(line, space_before=line.space_before + self._space)
            self._space = 0.0
        self.pages[-1].append(line)

    def space(self, amount: float = 1.0) -> None:
        self._space += amount

    def rule(self) -> None:
        """Draw a rule under the last line added."""
        self.pages[-1][-1] = replace(self.pages[-1][-1], rule_below=True)

    def used(self) -> float:
        return sum(line.units for line in self.pages[-1]) + self._space

    def fits(self, units: float) -> bool:
        return self.used() + units <= self.budget

    def new_page(self) -> None:
        if self.pages[-1]:
            self.pages.append([])
            self._space = 0.0

    def ensure(self, units: float) -> bool:
        """Start a new page unless `units` more fit; returns True when it broke."""
        if self.fits(units):
            return False
        self.new_page()
        return True

    # -- shorthands -------------------------------------------------------------------
    def title(self, text: str, **hints: Any) -> None:
        self.add(Line(text, role="title", bold=True, **hints))

    def heading(self, text: str, **hints: Any) -> None:
        self.add(Line(text, role="heading", bold=True, **hints))

    def text(self, text: str, **hints: Any) -> None:
        self.add(Line(text, **hints))

    def lines(self, texts: Sequence[str], **hints: Any) -> None:
        for text in texts:
            self.text(text, **hints)

    def para(self, text: str, width: int, **hints: Any) -> None:
        for part in textwrap.wrap(text, width, break_long_words=False):
            self.text(part, **hints)

    def kv(self, label: str, value: str, **hints: Any) -> None:
        self.add(row(label, value, role="kv", **hints))

    def cells(self, *cells: str, role: str = "td", aligns: str = "", **hints: Any) -> None:
        self.add(row(*cells, role=role, aligns=aligns, **hints))

    def total(self, label: str, value: str, **hints: Any) -> None:
        self.add(row(label, value, role="total", aligns="lr", **hints))

    def freeze(self) -> tuple[tuple[Line, ...], ...]:
        return tuple(tuple(p) for p in self.pages if p)
