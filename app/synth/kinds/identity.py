"""Identity documents: ID cards, passports, residence permits (with MRZ), driving licences.

Lines carry `group` 0 (front) or 1 (back); the renderer draws each group as a card.
Field labels are often bilingual, as on real documents.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.synth.compose import Ctx, Pages
from app.synth.formatting import MONTHS_ABBR
from app.synth.kinds.common import person
from app.synth.model import Line
from app.synth.mrz import td1, td3

# (state code, country header, nationality adjective) per language.
_STATES = {
    "fr": (
        ("FRA", "RÉPUBLIQUE FRANÇAISE", "Française"),
        ("FRA", "RÉPUBLIQUE FRANÇAISE", "Française"),
        ("BEL", "ROYAUME DE BELGIQUE", "Belge"),
        ("CHE", "CONFÉDÉRATION SUISSE", "Suisse"),
        ("LUX", "GRAND-DUCHÉ DE LUXEMBOURG", "Luxembourgeoise"),
    ),
    "en_GB": (
        ("GBR", "UNITED KINGDOM OF GREAT BRITAIN AND NORTHERN IRELAND", "BRITISH CITIZEN"),
        ("IRL", "IRELAND", "IRISH"),
    ),
    "en_US": (
        ("USA", "UNITED STATES OF AMERICA", "USA"),
        ("CAN", "CANADA", "CANADIAN"),
    ),
}
# Field labels: key -> (english variants, french variants). Passports carry both languages.
_LABELS = {
    "surname": (("Surname", "Surname / Nom", "Last name", "SURNAME"),
                ("Nom", "NOM / Surname", "Nom / Surname", "NOM")),
    "given": (("Given names", "Given names / Prénoms", "First names", "FORENAMES"),
              ("Prénoms", "Prénom(s)", "Prénoms / Given names", "PRÉNOMS")),
    "sex": (("Sex", "Sex / Sexe", "SEX"), ("Sexe", "SEXE / Sex", "Sexe / Sex")),
    "nationality": (("Nationality", "Nationality / Nationalité", "NATIONALITY"),
                    ("Nationalité", "NATIONALITÉ / Nationality", "Nationalité / Nationality")),
    "birth": (("Date of birth", "Date of birth / Date de naissance", "DOB", "Birth date"),
              ("Date de naissance", "Né(e) le", "DATE DE NAISS. / Date of birth",
               "Date de naiss.")),
    "place": (("Place of birth", "Place of birth / Lieu de naissance", "Birthplace"),
              ("Lieu de naissance", "à", "LIEU DE NAISSANCE / Place of birth")),
    "number": (("Document No.", "Document number", "No."), ("N° du document", "Numéro")),
    "number_passport": (("Passport No.", "Passport No. / N° du passeport"),
                        ("Passeport n°", "N° du passeport / Passport No.")),
    "number_id": (("Card No.", "ID number"), ("N° de la carte", "N° de carte")),
    "number_permit": (("Permit No.", "Card No."), ("N° du titre", "N° de titre")),
    "issue": (("Date of issue", "Issued", "Date of issue / Date de délivrance", "ISS"),
              ("Date de délivrance", "Délivré le", "Délivrée le",
               "Date de délivrance / Date of issue")),
    "expiry": (("Date of expiry", "Expiry date", "Valid until", "EXP", "Expires"),
               ("Date d'expiration", "Valable jusqu'au", "Date d'expir.", "Fin de validité")),
    "authority": (("Authority", "Issuing authority", "Authority / Autorité"),
                  ("Autorité", "Délivré par", "Autorité / Authority", "par")),
    "height": (("Height", "HGT"), ("Taille", "TAILLE / Height")),
    "address": (("Address", "ADDRESS", "Residence"), ("Adresse", "ADRESSE / Address", "Domicile")),
}  # fmt: skip
_KINDS = {
    "id": (("IDENTITY CARD", "NATIONAL IDENTITY CARD", "Identity Card", "ID CARD"),
           ("CARTE NATIONALE D'IDENTITÉ", "CARTE NATIONALE D'IDENTITÉ / IDENTITY CARD",
            "Carte nationale d'identité", "CARTE D'IDENTITÉ")),
    "passport": (("PASSPORT", "PASSPORT / PASSEPORT", "Passport"),
                 ("PASSEPORT", "PASSEPORT / PASSPORT", "Passeport")),
    "permit": (("RESIDENCE PERMIT", "RESIDENCE CARD", "Biometric Residence Permit"),
               ("TITRE DE SÉJOUR", "CARTE DE RÉSIDENT", "Titre de séjour")),
    "licence": (("DRIVER LICENSE", "DRIVING LICENCE", "Driver's License"),
                ("PERMIS DE CONDUIRE",)),
}  # fmt: skip
_FOREIGN = (
    ("MAR", "Marocaine", "MOROCCAN"), ("DZA", "Algérienne", "ALGERIAN"),
    ("SEN", "Sénégalaise", "SENEGALESE"), ("PRT", "Portugaise", "PORTUGUESE"),
    ("ITA", "Italienne", "ITALIAN"), ("ESP", "Espagnole", "SPANISH"),
    ("IND", "Indienne", "INDIAN"), ("BRA", "Brésilienne", "BRAZILIAN"),
)  # fmt: skip


def build(ctx: Ctx) -> Pages:
    doc = Pages(budget=200)
    fr = ctx.lang == "fr"
    i = int(fr)
    kind = ctx.pick(("id", "id", "passport", "passport", "permit", "licence"))
    state, country, nationality = ctx.pick(_STATES["fr" if fr else ctx.locale])
    if kind == "permit":
        state_nat, nat_fr, nat_en = ctx.pick(_FOREIGN)
        nationality = nat_fr if fr else nat_en
    else:
        state_nat = state
    who = person(ctx)
    surname = who.last.upper()
    given = who.first if ctx.chance(0.5) else f"{who.first}, {ctx.fake.first_name()}"
    if ctx.chance(0.5):
        given = given.upper()
    sex = "F" if who.female else "M"
    birth = ctx.day(dt.date(1950, 1, 1), 55 * 365)
    issue = ctx.day(dt.date(2015, 1, 1), 9 * 365)
    expiry = issue.replace(year=issue.year + ctx.pick((5, 10, 10, 15)), day=min(issue.day, 28))
    number = _doc_number(ctx, kind, state)
    dstyle = ctx.pick(("dots", "space", "slash", "mon"))

    def date(day: dt.date) -> str:
        if dstyle == "mon":
            month = MONTHS_ABBR["fr" if fr else "en"][day.month - 1].rstrip(".").upper()
            return f"{day.day:02d} {month} {day.year}"
        if state == "USA":
            return f"{day.month:02d}/{day.day:02d}/{day.year}"
        sep = {"dots": ".", "space": " ", "slash": "/"}[dstyle]
        return f"{day.day:02d}{sep}{day.month:02d}{sep}{day.year}"

    def label(key: str) -> str:
        if key == "number" and ctx.chance(0.7):
            key = f"number_{kind}"
        text = ctx.pick(_LABELS[key][i])
        return text.upper() if ctx.chance(0.2) else text

    above = ctx.chance(0.5)  # label printed above its value, as on passports

    def field(key: str, value: str, group: int = 0) -> None:
        if above:
            doc.add(Line(label(key), role="label", group=group))
            doc.add(Line(value, bold=ctx.chance(0.3), group=group))
        else:
            lab = label(key)
            doc.add(
                Line(f"{lab}{ctx.colon} {value}" if ctx.colon else f"{lab} {value}", group=group)
            )

    doc.add(Line(country, role="heading", align="center", group=0))
    doc.add(Line(ctx.pick(_KINDS[kind][i]), role="title", align="center", scale=0.6, group=0))
    place = ctx.fake.city()
    authority = _authority(ctx, state, kind, place)
    back = 1 if kind in ("id", "permit") and ctx.chance(0.6) else 0

    if kind == "licence":
        holder = _Holder(surname, given, sex, birth, place)
        _licence(ctx, doc, holder, issue, expiry, number, date)
        return doc

    order = ["surname", "given", "sex", "nationality", "birth", "place", "number", "expiry"]
    if ctx.chance(0.5):
        order.remove("number")
        order.insert(0, "number")
    values = {
        "surname": surname,
        "given": given,
        "sex": sex,
        "nationality": nationality,
        "birth": date(birth),
        "place": place.upper() if ctx.chance(0.5) else place,
        "number": number,
        "expiry": date(expiry),
    }
    for key in order:
        field(key, values[key])
    extras = [("issue", date(issue)), ("authority", authority)]
    if ctx.chance(0.5):
        height = ctx.rng.randint(150, 195)
        extras.append(("height", f"{height // 100},{height % 100:02d} m" if fr else f"{height} cm"))
    if back:
        doc.add(Line(ctx.pick(_KINDS[kind][i]), role="heading", align="center", group=1))
        address = ctx.address_lines()
        field("address", ", ".join(address) if len(address) < 3 else address[0], 1)
        for key, value in extras:
            field(key, value, 1)
    else:
        for key, value in ctx.sample(extras, ctx.rng.randint(1, len(extras))):
            field(key, value)

    mrz_name = who.first.upper() if given.upper() == who.first.upper() else given
    mrz_fields: dict[str, Any] = {
        "state": state,
        "number": number,
        "birth": birth,
        "sex": sex,
        "expiry": expiry,
        "nationality": state_nat,
        "surname": who.last,
        "given": mrz_name,
    }
    lines: tuple[str, ...]
    if kind == "passport":
        lines = td3(**mrz_fields)
    else:
        lines = td1(code="ID" if kind == "id" else "IR", **mrz_fields)
    doc.space(0.5)
    for text in lines:
        doc.add(Line(text, role="mrz", group=back))
    return doc


# Issuing authorities per state and document kind ("*" = any kind).
_AUTHORITIES = {
    ("GBR", "passport"): ("HM Passport Office", "HMPO"),
    ("GBR", "*"): ("Home Office", "UK Visas and Immigration"),
    ("IRL", "*"): ("Department of Foreign Affairs", "Irish Passport Service"),
    ("USA", "passport"): ("United States Department of State", "Department of State"),
    ("USA", "*"): ("USCIS", "U.S. Citizenship and Immigration Services"),
    ("CAN", "passport"): ("Passport Canada", "Immigration Canada"),
    ("CAN", "*"): ("IRCC", "Immigration, Refugees and Citizenship Canada"),
}


def _authority(ctx: Ctx, state: str, kind: str, place: str) -> str:
    if state == "FRA":
        return ctx.pick((f"Préfecture de {ctx.fake.department_name()}", f"Mairie de {place}"))
    if ctx.lang == "fr":
        return ctx.pick((f"Commune de {place}", f"Administration communale de {place}"))
    return ctx.pick(_AUTHORITIES.get((state, kind)) or _AUTHORITIES[state, "*"])


def _doc_number(ctx: Ctx, kind: str, state: str) -> str:
    if state == "FRA" and kind == "passport":
        return f"{ctx.digits(2)}{ctx.letters(2)}{ctx.digits(5)}"
    if state == "FRA":
        return f"{ctx.letters(1)}{ctx.digits(1)}{ctx.letters(1)}{ctx.digits(1)}{ctx.letters(5)}"
    if state in ("USA", "GBR", "CAN"):
        return ctx.digits(9) if ctx.chance(0.6) else f"{ctx.letters(2)}{ctx.digits(7)}"
    return f"{ctx.letters(2)}{ctx.digits(7)}"


@dataclass(frozen=True)
class _Holder:
    surname: str
    given: str
    sex: str
    birth: dt.date
    place: str


def _licence(
    ctx: Ctx,
    doc: Pages,
    who: _Holder,
    issue: dt.date,
    expiry: dt.date,
    number: str,
    date: Callable[[dt.date], str],
) -> None:
    """US style abbreviations (DL, EXP, DOB...) or EU numbered fields (1. 2. 3. 4a...)."""
    if ctx.locale == "en_US":
        height = f"{ctx.rng.randint(5, 6)}-{ctx.rng.randint(0, 11):02d}"
        fields = [
            ("DL", number),
            ("EXP", date(expiry)),
            ("LN", who.surname),
            ("FN", who.given),
            ("DOB", date(who.birth)),
            ("CLASS", ctx.pick(("C", "D", "M"))),
            ("SEX", who.sex),
            ("HGT", height),
            ("EYES", ctx.pick(("BRN", "BLU", "GRN", "HAZ"))),
            ("ISS", date(issue)),
        ]
        for lab, value in fields:
            doc.add(Line(f"{lab} {value}"))
        doc.add(Line(", ".join(ctx.address_lines()).upper()))
        return
    office = "DVLA" if ctx.lang == "en" else f"Préfecture {ctx.fake.department_name()}"
    fields = [
        ("1.", who.surname),
        ("2.", who.given),
        ("3.", f"{date(who.birth)} {who.place.upper()}"),
        ("4a.", date(issue)),
        ("4b.", date(expiry)),
        ("4c.", office),
        ("5.", number),
        ("9.", ctx.pick(("B", "AM/B1/B", "A/B", "B/BE"))),
    ]
    for lab, value in fields:
        doc.add(Line(f"{lab} {value}"))
