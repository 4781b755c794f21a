"""Parties (companies, people) and identifiers shared by several document classes."""

from dataclasses import dataclass

from app.synth.compose import Ctx

_FR_LEGAL = ("SAS", "SARL", "SA", "EURL", "SASU")
_BANKS = {
    "en_US": (
        "First National Bank of {city}", "{last} Savings Bank", "Citizens Trust Bank",
        "{city} Federal Credit Union", "Union Commerce Bank", "Pacific Western Bank",
        "Heritage Community Bank", "{last} & {last2} Bank",
    ),
    "en_GB": (
        "{last} & Co Bank", "Northern Counties Bank", "{city} Building Society",
        "Royal Albion Bank", "Thames Valley Bank plc", "Caledonian Savings Bank",
        "Midshire Bank", "Sterling Mutual",
    ),
    "fr_FR": (
        "Banque {last}", "Crédit Mutualiste de {city}", "Caisse d'Épargne {region}",
        "Banque Populaire du {region}", "Société Bancaire de {city}",
        "Crédit Régional {region}", "Banque {last} & Associés", "Caisse Fédérale {region}",
    ),
}  # fmt: skip


def company_name(ctx: Ctx) -> str:
    name = ctx.fake.company()
    if ctx.lang == "fr" and (ctx.chance(0.4) or " " not in name):
        name = f"{ctx.fake.last_name()} {ctx.pick(_FR_LEGAL)}"
    return name


def bank_name(ctx: Ctx) -> str:
    template = ctx.pick(_BANKS[ctx.locale])
    region = ctx.fake.region() if ctx.locale == "fr_FR" else ctx.fake.city()
    return template.format(
        city=ctx.fake.city(),
        last=ctx.fake.last_name(),
        last2=ctx.fake.last_name(),
        region=region,
    )


def contact_lines(ctx: Ctx, name: str) -> list[str]:
    """Phone / e-mail / website lines, each sometimes absent, labels varied."""
    out = []
    if ctx.chance(0.8):
        label = ctx.tr(("Tel", "Phone", "Tel.", "T"), ("Tél.", "Tél", "Téléphone", "Tel"))
        out.append(f"{ctx.lab(label)} {ctx.phone()}")
    if ctx.chance(0.7):
        label = ctx.tr(("Email", "E-mail", "Mail"), ("E-mail", "Courriel", "Mail", "Email"))
        domain = _domain(name)
        user = ctx.pick(("contact", "info", "billing", "accounts", "hello", "admin"))
        if ctx.lang == "fr":
            user = ctx.pick(("contact", "compta", "facturation", "info", "accueil"))
        out.append(f"{ctx.lab(label)} {user}@{domain}")
    if ctx.chance(0.4):
        out.append(f"www.{_domain(name)}")
    return out


def _domain(name: str) -> str:
    slug = "".join(ch for ch in name.lower().split(" ")[0] if ch.isascii() and ch.isalnum())
    return f"{slug or 'company'}.{'com' if name.isascii() else 'fr'}"


def company_ids(ctx: Ctx) -> list[str]:
    """Registration and tax numbers printed by businesses of each locale."""
    if ctx.locale == "fr_FR":
        siren = ctx.fake.siren()
        options = [
            f"SIRET{ctx.colon} {ctx.fake.siret()}",
            f"{ctx.lab('N° TVA intracom.')} FR{ctx.digits(2)} {siren.replace(' ', '')}",
            f"RCS {ctx.fake.city()} {siren}",
            f"{ctx.lab('Code APE')} {ctx.digits(4)}{ctx.letters(1)}",
        ]
    elif ctx.locale == "en_GB":
        options = [
            f"{ctx.lab('VAT Reg. No.')} GB {ctx.digits(3)} {ctx.digits(4)} {ctx.digits(2)}",
            f"{ctx.lab('Company No.')} {ctx.digits(8)}",
            f"Registered in England and Wales No. {ctx.digits(8)}",
        ]
    else:
        options = [
            f"{ctx.lab('EIN')} {ctx.digits(2)}-{ctx.digits(7)}",
            f"{ctx.lab('Tax ID')} {ctx.digits(2)}-{ctx.digits(7)}",
        ]
    return ctx.sample(options, ctx.rng.randint(0, 2))


def party_block(ctx: Ctx, name: str, *, contacts: bool = True) -> list[str]:
    lines = [name, *ctx.address_lines()]
    if contacts:
        lines += contact_lines(ctx, name)
    return lines


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    female: bool

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


def person(ctx: Ctx) -> Person:
    female = ctx.chance(0.5)
    first = ctx.fake.first_name_female() if female else ctx.fake.first_name_male()
    return Person(first, ctx.fake.last_name(), female)


def honorific(ctx: Ctx, who: Person) -> str:
    if ctx.lang == "fr":
        return ctx.pick(("Mme", "Madame") if who.female else ("M.", "Monsieur"))
    return ctx.pick(("Ms", "Mrs", "Ms.") if who.female else ("Mr", "Mr."))


def formal_name(ctx: Ctx, who: Person, title: str | None = None) -> str:
    """'Mr John Smith' / 'Mme Claire MARTIN' / just the name; `title` forces the honorific."""
    last = who.last.upper() if ctx.lang == "fr" and ctx.chance(0.3) else who.last
    if title is None and ctx.chance(0.5):
        return f"{who.first} {last}"
    return f"{title or honorific(ctx, who)} {who.first} {last}"
