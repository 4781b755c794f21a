"""Till receipts: shop header, items with prices, tax, total, payment, thanks line.

Receipts are printed on narrow paper, so every line stays short (about 34 characters).
"""

from app.synth.compose import Ctx, Pages
from app.synth.kinds.catalog import RECEIPT_SHOPS
from app.synth.kinds.common import company_ids

_TITLES = (
    ("RECEIPT", "Receipt", "SALES RECEIPT", "Cash Receipt", "CUSTOMER COPY", "Till receipt"),
    ("TICKET DE CAISSE", "Ticket de caisse", "REÇU", "Ticket client", "TICKET", "Facturette"),
)
_THANKS = (
    ("Thank you for shopping with us", "Thank you, please come again", "THANK YOU!",
     "Thanks for your visit", "Have a nice day!", "See you soon!"),
    ("Merci de votre visite", "À bientôt !", "Merci et bonne journée", "MERCI DE VOTRE VISITE",
     "Merci, à bientôt", "Bonne journée !"),
)  # fmt: skip
_NOTICES = (
    ("Keep your receipt for returns", "Returns within 30 days with receipt",
     "Customer copy", "Prices include VAT", "No refunds without receipt"),
    ("Ticket à conserver pour tout échange", "Échange sous 15 jours avec ce ticket",
     "Prix TTC en euros", "Conservez ce ticket", "Exemplaire client"),
)  # fmt: skip
_SHOP_WORDS = (
    ("{last}'s {kind}", "The {adj} {kind}", "{city} {kind}", "{last} & Sons"),
    ("{kind} {last}", "{kind} du {place}", "Au {adj_fr} {noun}", "{kind} de la Gare"),
)
_ADJ = ("Corner", "Village", "Golden", "Green", "Royal", "Little", "Market")
_ADJ_FR = ("Bon", "Petit", "Vieux", "Grand")
_NOUN_FR = ("Marché", "Comptoir", "Moulin", "Panier", "Pain Doré")
_PLACE_FR = ("Centre", "Marché", "Port", "Château", "Parc")


def _shop_name(ctx: Ctx, kind: str) -> str:
    template = ctx.tr(*_SHOP_WORDS)
    name = template.format(
        last=ctx.fake.last_name(),
        kind=kind,
        adj=ctx.pick(_ADJ),
        city=ctx.fake.city(),
        adj_fr=ctx.pick(_ADJ_FR),
        noun=ctx.pick(_NOUN_FR),
        place=ctx.pick(_PLACE_FR),
    )
    return name.upper() if ctx.chance(0.5) else name


def build(ctx: Ctx) -> Pages:
    doc = Pages(budget=200)
    fr = ctx.lang == "fr"
    kind_key = ctx.pick(tuple(RECEIPT_SHOPS))
    (kind_en, kind_fr), items = RECEIPT_SHOPS[kind_key]
    shop = _shop_name(ctx, kind_fr if fr else kind_en)

    doc.title(shop, align="center", scale=ctx.pick((0.6, 0.7, 0.8)))
    address = ctx.address_lines()
    doc.lines(address[:2], align="center")
    if ctx.chance(0.7):
        doc.text(f"{ctx.tr(('Tel', 'Tel.'), ('Tél.', 'Tél'))} {ctx.phone()}", align="center")
    if ctx.chance(0.5):
        doc.lines(company_ids(ctx)[:1], align="center", role="small")
    if ctx.chance(0.45):
        doc.space(0.5)
        doc.text(ctx.tr(*_TITLES), align="center", bold=True)
    doc.rule()

    when = ctx.day()
    clock = f"{ctx.rng.randint(7, 21):02d}:{ctx.rng.randrange(60):02d}"
    doc.space(0.3)
    doc.cells(ctx.date(when, "num"), clock, aligns="lr")
    meta = [
        (
            ctx.tr(("Receipt", "Trans", "Ticket", "Txn #"), ("Ticket", "N° ticket", "Ticket n°")),
            ctx.digits(ctx.rng.randint(4, 6)),
        ),
        (
            ctx.tr(("Register", "Till", "POS", "Lane"), ("Caisse", "Caisse n°", "TPE")),
            str(ctx.rng.randint(1, 12)),
        ),
        (
            ctx.tr(("Cashier", "Served by", "Operator"), ("Caissier", "Vendeur", "Hôte")),
            ctx.fake.first_name(),
        ),
        (ctx.tr(("Store", "Store #"), ("Magasin", "Mag.")), ctx.digits(4)),
    ]
    for label, value in ctx.sample(meta, ctx.rng.randint(1, 3)):
        doc.cells(ctx.lab(label), value, aligns="lr")
    doc.rule()

    doc.space(0.3)
    total = 0
    count = 0
    for name_en, name_fr, low, high in ctx.sample(items, ctx.rng.randint(2, 9)):
        name = name_fr if fr else name_en
        qty = ctx.pick((1, 1, 1, 1, 2, 2, 3, 4))
        unit = round(ctx.rng.uniform(low, high) * 100)
        total += qty * unit
        count += qty
        upper = name.upper() if ctx.chance(0.4) else name
        if qty > 1 and ctx.chance(0.5):
            doc.text(upper)
            doc.cells(f"  {qty} x {ctx.amount(unit)}", ctx.amount(qty * unit), aligns="lr")
        else:
            label = f"{qty} {upper}" if qty > 1 else upper
            doc.cells(label, ctx.amount(qty * unit), aligns="lr")
    doc.rule()

    total = _totals(ctx, doc, total, count)
    _payment(ctx, doc, total)

    doc.space(0.8)
    doc.text(ctx.tr(*_THANKS), align="center", bold=ctx.chance(0.3))
    if ctx.chance(0.5):
        doc.text(ctx.tr(*_NOTICES), align="center", role="small")
    return doc


def _totals(ctx: Ctx, doc: Pages, total: int, count: int) -> int:
    """Prints the totals block; returns the amount due (tax included)."""
    fr = ctx.lang == "fr"
    doc.space(0.3)
    if ctx.chance(0.5):
        label = ctx.tr(("Items", "No. of items", "Item count"), ("Nb articles", "Articles"))
        doc.cells(ctx.lab(label), str(count), aligns="lr")
    if ctx.locale == "en_US":
        rate = ctx.pick((0.0, 6.0, 7.0, 8.25, 9.5))
        tax = round(total * rate / 100)
        doc.cells(
            ctx.lab(ctx.pick(("Subtotal", "SUBTOTAL", "Sub Total"))), ctx.amount(total), aligns="lr"
        )
        if rate:
            doc.cells(ctx.lab(f"Tax {rate:g}%"), ctx.amount(tax), aligns="lr")
        total += tax
    label = ctx.tr(
        ("TOTAL", "Total", "TOTAL DUE", "Amount"),
        ("TOTAL", "Total TTC", "À PAYER", "TOTAL EUR", "Montant"),
    )
    doc.cells(ctx.lab(label), ctx.money(total), aligns="lr", bold=True, scale=1.15)
    if ctx.locale != "en_US" and ctx.chance(0.7):
        rate = ctx.pick((20.0, 5.5, 10.0)) if fr else ctx.pick((20.0, 0.0))
        vat = round(total - total / (1 + rate / 100))
        pct = f"{rate:g}".replace(".", ",") if fr else f"{rate:g}"
        doc.space(0.3)
        if fr:
            doc.cells(f"TVA {pct}%", ctx.amount(vat), aligns="lr", role="small")
            doc.cells("Total HT", ctx.amount(total - vat), aligns="lr", role="small")
        elif rate:
            doc.cells(f"VAT {pct}% incl.", ctx.amount(vat), aligns="lr", role="small")
    return total


def _payment(ctx: Ctx, doc: Pages, total: int) -> None:
    doc.space(0.5)
    if ctx.chance(0.3):
        cash = ((total // 500) + 1) * 500
        doc.cells(
            ctx.tr(("CASH", "Cash", "Cash tendered"), ("ESPÈCES", "Espèces")),
            ctx.amount(cash),
            aligns="lr",
        )
        doc.cells(
            ctx.tr(("CHANGE", "Change"), ("RENDU", "Rendu monnaie", "Monnaie rendue")),
            ctx.amount(cash - total),
            aligns="lr",
        )
        return
    brand = ctx.pick(
        ("VISA", "MASTERCARD", "AMEX", "MAESTRO")
        if ctx.lang == "en"
        else ("CB", "VISA", "MASTERCARD", "CB SANS CONTACT")
    )
    doc.cells(
        ctx.tr(
            ("CARD", "Paid by card", "Card payment"), ("CARTE BANCAIRE", "Payé par CB", "Carte")
        ),
        ctx.amount(total),
        aligns="lr",
    )
    last4 = ctx.digits(4)
    masked = ctx.pick((f"XXXX XXXX XXXX {last4}", f"**** {last4}", f"XXXX{last4}", f"...{last4}"))
    doc.text(f"{brand} {masked}")
    if ctx.chance(0.6):
        doc.cells(
            ctx.lab(ctx.tr(("Auth code", "AUTH"), ("N° autorisation", "Autor."))),
            ctx.digits(6),
            aligns="lr",
        )
    if ctx.chance(0.4):
        doc.text(
            ctx.tr(
                ("Contactless", "Chip & PIN", "PIN verified"),
                ("Sans contact", "Code confidentiel vérifié", "Paiement accepté"),
            )
        )
