"""ICAO 9303 machine-readable zones (TD1 identity cards, TD3 passports) with check digits."""

import datetime as dt
import unicodedata

_WEIGHTS = (7, 3, 1)


def _value(ch: str) -> int:
    if ch.isdigit():
        return int(ch)
    if "A" <= ch <= "Z":
        return ord(ch) - 55
    return 0  # filler "<"


def check_digit(data: str) -> str:
    return str(sum(_value(c) * _WEIGHTS[i % 3] for i, c in enumerate(data)) % 10)


def mrz_text(text: str) -> str:
    """Transliterate to the MRZ alphabet: A-Z, 0-9 and '<' for everything else."""
    text = text.upper().replace("Œ", "OE").replace("Æ", "AE").replace("ß", "SS")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return "".join(c if ("A" <= c <= "Z" or c.isdigit()) else "<" for c in text)


def _field(text: str, width: int) -> str:
    return mrz_text(text)[:width].ljust(width, "<")


def _names(surname: str, given: str, width: int) -> str:
    return _field(f"{mrz_text(surname)}<<{mrz_text(given)}", width)


def _yymmdd(day: dt.date) -> str:
    return day.strftime("%y%m%d")


def td1(
    *,
    code: str,
    state: str,
    number: str,
    birth: dt.date,
    sex: str,
    expiry: dt.date,
    nationality: str,
    surname: str,
    given: str,
    optional: str = "",
) -> tuple[str, str, str]:
    number = _field(number, 9)
    line1 = f"{_field(code, 2)}{state}{number}{check_digit(number)}{_field(optional, 15)}"
    birth_s, expiry_s = _yymmdd(birth), _yymmdd(expiry)
    line2 = (
        f"{birth_s}{check_digit(birth_s)}{sex}{expiry_s}{check_digit(expiry_s)}"
        f"{nationality}{'<' * 11}"
    )
    composite = line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]
    return line1, line2 + check_digit(composite), _names(surname, given, 30)


def td3(
    *,
    state: str,
    number: str,
    birth: dt.date,
    sex: str,
    expiry: dt.date,
    nationality: str,
    surname: str,
    given: str,
    personal: str = "",
) -> tuple[str, str]:
    line1 = f"P<{state}{_names(surname, given, 39)}"
    number = _field(number, 9)
    birth_s, expiry_s = _yymmdd(birth), _yymmdd(expiry)
    personal = _field(personal, 14)
    personal_check = check_digit(personal) if personal.strip("<") else "<"
    line2 = (
        f"{number}{check_digit(number)}{nationality}{birth_s}{check_digit(birth_s)}{sex}"
        f"{expiry_s}{check_digit(expiry_s)}{personal}{personal_check}"
    )
    composite = line2[0:10] + line2[13:20] + line2[21:43]
    return line1, line2 + check_digit(composite)
