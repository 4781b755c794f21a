"""Bank statements: bank, holder, IBAN/BIC, period, transactions, opening/closing balance."""

import datetime as dt

from app.synth.compose import Ctx, Pages
from app.synth.kinds.common import bank_name, formal_name, person
from app.synth.model import Line

_TITLES = (
    ("ACCOUNT STATEMENT", "Account Statement", "Bank Statement", "Statement of Account",
     "Monthly Statement", "Current Account Statement", "Statement"),
    ("RELEVÉ DE COMPTE", "Relevé de compte", "Relevé de compte courant", "Extrait de compte",
     "Relevé bancaire", "Relevé n° {n}", "RELEVÉ DE VOS COMPTES"),
)  # fmt: skip
_COLS = {
    "date": (("Date", "Posting date", "Txn date"), ("Date", "Date opé.", "Date d'opération")),
    "value": (("Value date", "Value"), ("Date valeur", "Valeur")),
    "desc": (("Description", "Details", "Transaction", "Particulars"),
             ("Libellé", "Opération", "Nature de l'opération", "Libellé de l'opération")),
    "debit": (("Debit", "Paid out", "Withdrawals", "Money out", "Debits"),
              ("Débit", "Débit (EUR)", "Débits", "Montant débit")),
    "credit": (("Credit", "Paid in", "Deposits", "Money in", "Credits"),
               ("Crédit", "Crédit (EUR)", "Crédits", "Montant crédit")),
    "balance": (("Balance", "Running balance"), ("Solde", "Solde (EUR)")),
}  # fmt: skip
# (description template, is_credit, low, high) in currency units.
_TXNS_EN = (
    ("CARD PAYMENT {shop}", False, 3, 120),
    ("DIRECT DEBIT {utility}", False, 20, 180),
    ("STANDING ORDER RENT", False, 500, 1600),
    ("ATM WITHDRAWAL {city}", False, 20, 300),
    ("TRANSFER FROM {name}", True, 20, 900),
    ("SALARY {employer}", True, 1400, 4800),
    ("ONLINE TRANSFER TO {name}", False, 10, 700),
    ("POS PURCHASE {shop}", False, 5, 250),
    ("CHEQUE {cheque}", False, 30, 900),
    ("INTEREST PAID", True, 0.1, 15),
    ("ACCOUNT FEE", False, 2, 15),
    ("REFUND {shop}", True, 5, 150),
    ("CONTACTLESS {shop}", False, 2, 45),
    ("MOBILE PAYMENT {shop}", False, 3, 90),
)
_TXNS_FR = (
    ("CARTE X{card} {day} {shop}", False, 3, 120),
    ("PRLV SEPA {utility}", False, 20, 180),
    ("VIR PERMANENT LOYER", False, 450, 1400),
    ("RETRAIT DAB {day} {city}", False, 20, 300),
    ("VIR SEPA RECU DE {name}", True, 20, 900),
    ("VIR SALAIRE {employer}", True, 1300, 4200),
    ("VIR SEPA EMIS VERS {name}", False, 10, 700),
    ("PAIEMENT CB {shop}", False, 5, 250),
    ("CHEQUE N° {cheque}", False, 30, 900),
    ("INTERETS CREDITEURS", True, 0.1, 15),
    ("FRAIS TENUE DE COMPTE", False, 2, 15),
    ("REMBOURSEMENT {shop}", True, 5, 150),
    ("COTISATION CARTE", False, 30, 50),
    ("AVOIR CARTE {shop}", True, 5, 90),
)
_SHOPS = (
    ("TESCO STORES", "AMAZON MKTPLACE", "STARBUCKS", "SHELL", "UBER TRIP", "NETFLIX.COM",
     "WALMART", "BOOTS", "SAINSBURYS", "TARGET", "APPLE.COM/BILL", "IKEA"),
    ("CARREFOUR", "AMAZON EU", "MONOPRIX", "TOTAL ENERGIES", "SNCF", "FNAC", "LECLERC",
     "DECATHLON", "PHARMACIE", "BOULANGERIE", "LIDL", "IKEA"),
)  # fmt: skip
_UTILITIES = (
    ("BRITISH GAS", "EDISON ELECTRIC", "VODAFONE", "COUNCIL TAX", "THAMES WATER", "AT&T",
     "COMCAST", "AVIVA INSURANCE", "GYM MEMBERSHIP"),
    ("EDF", "ENGIE", "ORANGE", "FREE MOBILE", "SFR", "MAIF", "VEOLIA EAU", "IMPOTS",
     "MUTUELLE"),
)  # fmt: skip


def build(ctx: Ctx) -> Pages:
    doc = Pages(budget=38)
    fr = ctx.lang == "fr"
    i = int(fr)
    bank = bank_name(ctx)
    holder = person(ctx)
    start = ctx.day().replace(day=1)
    end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)

    doc.text(
        bank.upper() if ctx.chance(0.4) else bank,
        role="heading",
        scale=1.4,
        align=ctx.pick(("", "center", "right")),
    )
    if ctx.chance(0.6):
        doc.lines(ctx.address_lines(), role="small")
    if ctx.chance(0.85):
        doc.space(0.6)
        doc.title(ctx.pick(_TITLES[i]).format(n=ctx.rng.randint(1, 12)), scale=0.75)

    doc.space(0.8)
    holder_lines = [
        formal_name(ctx, holder).upper() if ctx.chance(0.5) else formal_name(ctx, holder),
        *ctx.address_lines(),
    ]
    right = ctx.chance(0.5)
    doc.lines(holder_lines, align="right" if right else "")

    doc.space(0.8)
    period = ctx.tr(
        (
            f"Statement period: {ctx.date(start)} to {ctx.date(end)}",
            f"Period: {ctx.date(start)} - {ctx.date(end)}",
            f"From {ctx.date(start)} to {ctx.date(end)}",
        ),
        (
            f"Période du {ctx.date(start)} au {ctx.date(end)}",
            f"Relevé du {ctx.date(start)} au {ctx.date(end)}",
            f"Du {ctx.date(start)} au {ctx.date(end)}",
        ),
    )
    fields = [
        (
            ctx.tr(
                ("Account holder", "Account name", "Customer"),
                ("Titulaire", "Titulaire du compte", "Client"),
            ),
            holder.name,
        ),
        (
            ctx.tr(
                ("Account number", "Account no.", "Account"),
                ("N° de compte", "Compte n°", "Numéro de compte"),
            ),
            ctx.digits(11),
        ),
        ("IBAN", ctx.iban()),
        (
            ctx.tr(("BIC", "SWIFT/BIC", "BIC code"), ("BIC", "Code BIC", "BIC/SWIFT")),
            ctx.fake.swift(),
        ),
    ]
    if ctx.locale == "en_GB":
        fields.insert(2, ("Sort code", f"{ctx.digits(2)}-{ctx.digits(2)}-{ctx.digits(2)}"))
    elif ctx.locale == "en_US":
        fields.insert(2, (ctx.pick(("Routing number", "ABA routing")), ctx.fake.aba()))
    if fr and ctx.chance(0.5):
        fields.append((ctx.pick(("Agence", "Votre agence")), ctx.fake.city()))
    if ctx.chance(0.4):
        adviser = ctx.tr(
            ("Relationship manager", "Your adviser"), ("Votre conseiller", "Conseiller")
        )
        fields.append((adviser, person(ctx).name))
    fields = fields[:2] + ctx.sample(fields[2:], len(fields) - 2)
    doc.text(period, bold=ctx.chance(0.4))
    for label, value in fields:
        doc.kv(ctx.lab(label), value)

    _transactions(ctx, doc, start, end)
    doc.space(0.8)
    notices = ctx.tr(
        (
            "Please check this statement and report any discrepancy within 30 days.",
            "Deposits are protected up to the limit of the deposit guarantee scheme.",
            "For any question, please contact your branch or call our customer service.",
        ),
        (
            "Vérifiez votre relevé et signalez toute anomalie dans un délai de 30 jours.",
            "Vos dépôts sont protégés par le Fonds de Garantie des Dépôts et de Résolution.",
            "Pour toute réclamation, contactez votre conseiller ou votre agence.",
        ),
    )
    if ctx.chance(0.7) and doc.fits(3):
        doc.para(notices, ctx.rng.randint(70, 90), role="small")
    if len(doc.pages) > 1:
        total = len(doc.pages)
        for n, page in enumerate(doc.pages, start=1):
            marker = ctx.tr(
                (f"Page {n} of {total}", f"Page {n}/{total}"),
                (f"Page {n}/{total}", f"Page {n} sur {total}"),
            )
            page.append(Line(marker, role="small", align="right", space_before=0.8))
    return doc


def _transactions(ctx: Ctx, doc: Pages, start: dt.date, end: dt.date) -> None:
    fr = ctx.lang == "fr"
    i = int(fr)
    cols = ["date", "desc", "debit", "credit"]
    short_date = "%d/%m" if ctx.locale != "en_US" else "%m/%d"
    date_fmt = ctx.pick((short_date, short_date, "num", "abbr"))
    if ctx.chance(0.5):
        cols.append("balance")
    if date_fmt == short_date and ctx.chance(0.4):
        cols.insert(1, "value")
    count = ctx.rng.randint(8, 20) if ctx.chance(0.7) else ctx.rng.randint(30, 48)
    days = sorted(
        start + dt.timedelta(days=ctx.rng.randrange((end - start).days + 1)) for _ in range(count)
    )
    balance = ctx.rng.randint(20000, 900000)
    opening = balance

    def fmt_day(day: dt.date) -> str:
        return day.strftime(short_date) if date_fmt == short_date else ctx.date(day, date_fmt)

    opening_label = ctx.tr(
        ("Opening balance", "Balance brought forward", "Previous balance", "Start balance"),
        ("Solde précédent", "Ancien solde", f"Solde au {ctx.date(start)}", "Solde d'ouverture"),
    )
    doc.space(0.8)
    doc.ensure(6)
    opening_first = ctx.chance(0.5)
    if opening_first:
        doc.total(ctx.lab(opening_label), ctx.money(opening))
    # Wide tables get the shortest header of each column so the rows need not wrap.
    header = [ctx.pick(_COLS[c][i]) if len(cols) < 5 else min(_COLS[c][i], key=len) for c in cols]
    aligns = "".join("r" if c in ("debit", "credit", "balance") else "l" for c in cols)
    doc.cells(*header, role="th", aligns=aligns, bold=True)
    txns = _TXNS_FR if fr else _TXNS_EN
    debits = credits = 0
    for day in days:
        if doc.ensure(2):
            doc.cells(*header, role="th", aligns=aligns, bold=True)
        template, credit, low, high = ctx.pick(txns)
        cents = round(ctx.rng.uniform(low, high) * 100)
        desc = template.format(
            shop=ctx.pick(_SHOPS[i]),
            utility=ctx.pick(_UTILITIES[i]),
            city=ctx.fake.city().upper()[:14],
            name=ctx.fake.last_name().upper()[:12],
            employer=ctx.fake.company().upper()[:14].strip(" ,-"),
            cheque=ctx.digits(7),
            card=ctx.digits(4),
            day=day.strftime("%d/%m"),
        )[:30]
        balance += cents if credit else -cents
        if credit:
            credits += cents
        else:
            debits += cents
        value_day = day + dt.timedelta(days=ctx.rng.randint(0, 2))
        values = {
            "date": fmt_day(day),
            "value": fmt_day(value_day),
            "desc": desc,
            "debit": "" if credit else ctx.amount(cents),
            "credit": ctx.amount(cents) if credit else "",
            "balance": ctx.amount(balance),
        }
        doc.cells(*(values[c] for c in cols), aligns=aligns)

    doc.space(0.5)
    if ctx.chance(0.6):
        label = ctx.tr(("Total debits / credits", "Totals"), ("Total des opérations", "Totaux"))
        doc.total(ctx.lab(label), f"{ctx.amount(debits)}  {ctx.amount(credits)}")
    closing_label = ctx.tr(
        ("Closing balance", "New balance", "Balance carried forward", "End balance"),
        ("Nouveau solde", "Solde au " + ctx.date(end), "Solde créditeur", "Solde final"),
    )
    if balance < 0 and fr:
        closing_label = "Solde débiteur"
    if not opening_first:
        doc.total(ctx.lab(opening_label), ctx.money(opening))
    doc.total(ctx.lab(closing_label), ctx.money(balance), bold=True)
