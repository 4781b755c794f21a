"""Locale-specific formatting of amounts and dates.

Written by hand rather than with `locale`/Babel: the process locale is global state and
would make output depend on the host, and these few rules are all the generator needs.
"""

import datetime as dt
from dataclasses import dataclass

MONTHS = {
    "en": (
        "January", "February", "March", "April", "May", "June", "July", "August",
        "September", "October", "November", "December",
    ),
    "fr": (
        "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
        "septembre", "octobre", "novembre", "décembre",
    ),
}  # fmt: skip
MONTHS_ABBR = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "fr": (
        "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
        "nov.", "déc.",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class MoneyStyle:
    symbol: str  # "$", "£", "€", "EUR"...
    prefix: bool  # symbol before the number ($1.00) or after (1,00 €)
    thousands: str
    decimal: str

    def number(self, cents: int) -> str:
        sign = "-" if cents < 0 else ""
        units, frac = divmod(abs(cents), 100)
        digits = f"{units:,}".replace(",", self.thousands) if self.thousands else str(units)
        return f"{sign}{digits}{self.decimal}{frac:02d}"

    def money(self, cents: int) -> str:
        num = self.number(abs(cents))
        sign = "-" if cents < 0 else ""
        if self.prefix:
            return f"{sign}{self.symbol}{num}"
        return f"{sign}{num} {self.symbol}"


def money_style(locale: str, pick: float) -> MoneyStyle:
    """`pick` in [0, 1) selects among the realistic variants of the locale."""
    if locale == "fr_FR":
        thousands = " " if pick < 0.7 else ("." if pick < 0.8 else "")
        symbol = "€" if pick < 0.55 or pick >= 0.8 else "EUR"
        return MoneyStyle(symbol, prefix=False, thousands=thousands, decimal=",")
    if locale == "en_GB":
        if pick < 0.85:
            return MoneyStyle("£", prefix=True, thousands=",", decimal=".")
        return MoneyStyle("GBP", prefix=False, thousands=",", decimal=".")
    if pick < 0.9:
        return MoneyStyle("$", prefix=True, thousands=",", decimal=".")
    return MoneyStyle("USD", prefix=False, thousands=",", decimal=".")


# Date styles: "num" (short numeric), "long" (month spelled), "abbr", "iso".
def format_date(day: dt.date, locale: str, style: str) -> str:
    lang = locale[:2]
    if style == "iso":
        return day.isoformat()
    if style in ("long", "abbr"):
        month = (MONTHS if style == "long" else MONTHS_ABBR)[lang][day.month - 1]
        if locale == "en_US":
            return f"{month} {day.day}, {day.year}"
        first = "1er" if lang == "fr" and day.day == 1 else str(day.day)
        return f"{first} {month} {day.year}"
    if style == "dots":
        return f"{day.day:02d}.{day.month:02d}.{day.year}"
    if locale == "en_US":
        return f"{day.month:02d}/{day.day:02d}/{day.year}"
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


def format_month(day: dt.date, lang: str) -> str:
    """'March 2024' / 'mars 2024'."""
    return f"{MONTHS[lang][day.month - 1]} {day.year}"


def group_digits(text: str, size: int = 4) -> str:
    """IBANs and card numbers are printed in groups of four."""
    return " ".join(text[i : i + size] for i in range(0, len(text), size))
