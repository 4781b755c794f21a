"""Invoices: seller, buyer, references, line items, VAT/tax, totals, terms, bank details."""

from app.synth.compose import Ctx, Pages
from app.synth.kinds.catalog import INVOICE_SECTORS
from app.synth.kinds.common import (
    bank_name,
    company_ids,
    company_name,
    contact_lines,
    formal_name,
    person,
)

_TITLES_EN = (
    "INVOICE",
    "Invoice",
    "TAX INVOICE",
    "Tax Invoice",
    "Bill",
    "BILL",
    "Sales Invoice",
    "Commercial Invoice",
    "Invoice {num}",
    "INVOICE #{num}",
)
_TITLES_FR = (
    "FACTURE",
    "Facture",
    "Facture n° {num}",
    "FACTURE N° {num}",
    "Facture de prestation",
    "Facture de vente",
    "Note d'honoraires",
    "FACTURE ACQUITTÉE",
    "Facture {num}",
)
_NUM_LABEL = (
    ("Invoice No.", "Invoice number", "Invoice #", "Invoice no", "Reference", "No."),
    ("N° de facture", "Facture n°", "Numéro", "Réf. facture", "N°", "Référence"),
)
_DATE_LABEL = (
    ("Date", "Invoice date", "Date of issue", "Issue date", "Invoice Date", "Tax point"),
    ("Date", "Date de facture", "Date d'émission", "Date de facturation", "Émise le"),
)
_DUE_LABEL = (
    ("Due date", "Payment due", "Due", "Pay by", "Due Date"),
    ("Échéance", "Date d'échéance", "À régler avant le", "Date limite de paiement"),
)
_EXTRA_REFS = (
    ("Customer ID", "Account no.", "PO number", "Order ref.", "Client code", "Project"),
    ("Réf. client", "N° client", "N° de commande", "Bon de commande", "Code client", "Dossier"),
)
_BUYER_HEAD = (
    ("Bill to", "Billed to", "BILL TO", "Invoice to", "Customer", "Sold to", "To"),
    ("Facturé à", "Client", "Destinataire", "Adresse de facturation", "FACTURER À", "À"),
)
_SHIP_HEAD = (("Ship to", "Delivery address", "Deliver to"), ("Livré à", "Adresse de livraison"))
_COLS = {
    "desc": (("Description", "Item", "Product", "Service", "Details"),
             ("Désignation", "Description", "Article", "Prestation", "Libellé")),
    "ref": (("Ref.", "SKU", "Code", "Item #"), ("Réf.", "Code", "Référence")),
    "qty": (("Qty", "Quantity", "Units", "QTY", "Hrs"), ("Qté", "Quantité", "Qté.", "Nb")),
    "unit": (("Unit price", "Rate", "Price", "Unit cost", "Price each"),
             ("Prix unitaire", "P.U. HT", "PU HT", "Prix unit.", "Tarif")),
    "vat": (("VAT", "Tax", "VAT %"), ("TVA", "Taux TVA", "TVA %")),
    "total": (("Amount", "Total", "Line total", "Net", "Amount ex. VAT"),
              ("Montant HT", "Total HT", "Montant", "Total")),
}  # fmt: skip
_PAY_TERMS_EN = (
    "Payment terms: Net 30",
    "Payment due within {d} days of invoice date.",
    "Please pay by bank transfer to the account below.",
    "Terms: due upon receipt.",
    "Late payments are subject to a {p}% monthly service charge.",
    "Please quote the invoice number as the payment reference.",
    "Payment terms: {d} days net.",
    "Cheques payable to {seller}.",
)
_PAY_TERMS_FR = (
    "Conditions de paiement : {d} jours fin de mois.",
    "Règlement à réception de facture.",
    "Paiement par virement bancaire.",
    "Paiement à {d} jours date de facture.",
    "En cas de retard de paiement, une pénalité égale à 3 fois le taux d'intérêt légal "
    "sera exigible.",
    "Indemnité forfaitaire pour frais de recouvrement : 40 €.",
    "Escompte pour paiement anticipé : néant.",
    "Merci d'indiquer le numéro de facture en référence de votre virement.",
    "Pas d'escompte en cas de paiement anticipé.",
)
_THANKS = (
    ("Thank you for your business!", "Thank you for your custom.", "We appreciate your business.",
     "Thank you!", "Questions about this invoice? Contact us at the address above."),
    ("Merci de votre confiance.", "Nous vous remercions de votre confiance.",
     "Merci pour votre commande !", "Pour toute question, contactez notre service comptabilité."),
)  # fmt: skip


def _number(ctx: Ctx, year: int) -> str:
    return ctx.pick(
        (
            f"INV-{year}-{ctx.digits(4)}",
            f"F{year}-{ctx.digits(4)}",
            f"FA-{ctx.digits(6)}",
            f"{year}/{ctx.digits(3)}",
            f"{ctx.digits(5)}",
            f"FAC-{year % 100}-{ctx.digits(4)}",
            f"{ctx.letters(2)}{ctx.digits(6)}",
        )
    )


def _vat_rate(ctx: Ctx) -> tuple[float, str]:
    """(rate, label); rate 0 means no tax line."""
    if ctx.locale == "fr_FR":
        rate = ctx.pick((20.0, 20.0, 20.0, 10.0, 5.5, 0.0))
        pct = f"{rate:g}".replace(".", ",")
        return rate, ctx.pick((f"TVA {pct} %", f"TVA ({pct}%)", f"TVA {pct}%", "Montant TVA"))
    if ctx.locale == "en_GB":
        rate = ctx.pick((20.0, 20.0, 5.0, 0.0))
        return rate, ctx.pick((f"VAT {rate:g}%", f"VAT @ {rate:g}%", "VAT", f"VAT ({rate:g}%)"))
    rate = ctx.pick((0.0, 6.0, 6.25, 7.0, 8.25, 8.875, 9.5))
    return rate, ctx.pick((f"Sales tax ({rate:g}%)", f"Tax {rate:g}%", "Sales Tax", "Tax"))


def build(ctx: Ctx) -> Pages:
    doc = Pages(budget=54)  # invoices shrink to one page rather than break
    issued = ctx.day()
    number = _number(ctx, issued.year)
    seller = company_name(ctx)
    fr = ctx.lang == "fr"

    def seller_block() -> None:
        doc.text(seller, role="heading", scale=ctx.pick((1.0, 1.2, 1.4)))
        doc.lines(ctx.address_lines())
        doc.lines(contact_lines(ctx, seller))
        if ctx.chance(0.5):
            doc.lines(company_ids(ctx), role="small")

    def title() -> None:
        if ctx.chance(0.15):  # weak title: no title line at all
            return
        doc.space(ctx.pick((0.4, 0.8, 1.2)))
        doc.title(ctx.tr(_TITLES_EN, _TITLES_FR).format(num=number))

    def meta() -> None:
        doc.space(0.5)
        idx = int(fr)
        doc.kv(ctx.lab(ctx.pick(_NUM_LABEL[idx])), number)
        doc.kv(ctx.lab(ctx.pick(_DATE_LABEL[idx])), ctx.date(issued))
        if ctx.chance(0.7):
            due = issued.fromordinal(issued.toordinal() + ctx.pick((15, 30, 30, 45, 60)))
            doc.kv(ctx.lab(ctx.pick(_DUE_LABEL[idx])), ctx.date(due))
        for label in ctx.sample(_EXTRA_REFS[idx], ctx.rng.randint(0, 2)):
            doc.kv(ctx.lab(label), f"{ctx.letters(ctx.rng.randint(0, 3))}{ctx.digits(5)}")

    def buyer() -> None:
        doc.space(0.6)
        if ctx.chance(0.85):
            doc.heading(ctx.lab(ctx.tr(*_BUYER_HEAD)), scale=0.85)
        if ctx.chance(0.6):
            doc.text(company_name(ctx), bold=ctx.chance(0.5))
            if ctx.chance(0.5):
                doc.text(
                    f"{ctx.tr(('Attn:', 'Attention:'), ('À l’attention de', 'Attn'))} "
                    f"{formal_name(ctx, person(ctx))}"
                )
        else:
            doc.text(formal_name(ctx, person(ctx)))
        doc.lines(ctx.address_lines())
        if ctx.chance(0.2):
            doc.space(0.4)
            doc.text(ctx.lab(ctx.tr(*_SHIP_HEAD)), bold=True)
            doc.lines(ctx.address_lines())

    head = [seller_block, title, meta, buyer]
    order = ctx.pick(((0, 1, 2, 3), (1, 0, 3, 2), (0, 3, 1, 2), (1, 2, 0, 3), (0, 1, 3, 2)))
    for i in order:
        head[i]()

    subtotal = _items(ctx, doc)
    _totals(ctx, doc, subtotal)

    doc.space(0.8)
    tail = [lambda: _terms(ctx, doc, seller), lambda: _bank(ctx, doc, seller)]
    ctx.rng.shuffle(tail)
    for part in tail:
        part()
    if ctx.chance(0.7):
        doc.space(0.6)
        doc.text(ctx.tr(*_THANKS), align=ctx.pick(("", "center")))
    return doc


def _items(ctx: Ctx, doc: Pages) -> int:
    sector = ctx.pick(tuple(INVOICE_SECTORS))
    items = ctx.sample(INVOICE_SECTORS[sector], ctx.rng.randint(2, 8))
    idx = int(ctx.lang == "fr")
    cols = ["desc", "qty", "unit", "total"]
    if ctx.chance(0.25):
        cols.insert(0, "ref")
    if ctx.chance(0.2) and ctx.locale != "en_US":
        cols.insert(-1, "vat")
    as_table = ctx.chance(0.8)
    doc.space(0.8)
    if ctx.chance(0.3):
        doc.heading(
            ctx.tr(
                ("Details", "Items", "Description of services", "Services"),
                ("Détail", "Prestations", "Détail de la commande", "Articles"),
            ),
            scale=0.85,
        )
    if as_table:
        header = [ctx.pick(_COLS[c][idx]) for c in cols]
        doc.cells(*header, role="th", aligns=_aligns(cols), bold=True)
    subtotal = 0
    vat_label = ctx.pick(("20%", "20 %", "20,0")) if idx else "20%"
    for name_en, name_fr, low, high in items:
        if doc.ensure(1.5) and as_table:  # long tables continue under a repeated header
            doc.cells(*header, role="th", aligns=_aligns(cols), bold=True)
        name = name_fr if idx else name_en
        if high > 500:  # big-ticket services are billed once or a few times
            qty = ctx.pick((1, 1, 1, 2, 3))
        elif high > 50:
            qty = ctx.pick((1, 1, 2, 3, 4, 5, 10, 12, 20))
        else:
            qty = ctx.rng.randint(1, 50)
        unit = round(ctx.rng.uniform(low, high) * 100)
        line = qty * unit
        subtotal += line
        if as_table:
            values = {
                "ref": f"{ctx.letters(2)}{ctx.digits(3)}",
                "desc": name,
                "qty": str(qty),
                "unit": ctx.amount(unit),
                "vat": vat_label,
                "total": ctx.amount(line),
            }
            doc.cells(*(values[c] for c in cols), aligns=_aligns(cols))
        else:
            times = ctx.pick(("x", "×", "@"))
            doc.cells(f"{name} - {qty} {times} {ctx.money(unit)}", ctx.money(line), aligns="lr")
    return subtotal


def _aligns(cols: list[str]) -> str:
    return "".join("l" if c in ("desc", "ref") else "r" for c in cols)


def _totals(ctx: Ctx, doc: Pages, subtotal: int) -> None:
    fr = ctx.lang == "fr"
    rate, vat_label = _vat_rate(ctx)
    doc.space(0.6)
    doc.ensure(5)
    net_label = ctx.pick(
        ("Total HT", "Montant HT", "Sous-total HT", "Total H.T.")
        if fr
        else ("Subtotal", "Sub-total", "Net amount", "Total excl. VAT", "Net total")
    )
    doc.total(ctx.lab(net_label), ctx.money(subtotal))
    base = subtotal
    if ctx.chance(0.15):
        pct = ctx.pick((5, 10, 15))
        discount = round(subtotal * pct / 100)
        base -= discount
        doc.total(
            ctx.lab(ctx.tr((f"Discount {pct}%",), (f"Remise {pct} %",))), ctx.money(-discount)
        )
    tax = round(base * rate / 100)
    if rate:
        doc.total(ctx.lab(vat_label), ctx.money(tax))
    elif fr and ctx.chance(0.6):
        doc.text("TVA non applicable, art. 293 B du CGI", role="small")
    total_label = ctx.pick(
        ("Total TTC", "Net à payer", "Montant TTC", "Total à payer", "TOTAL TTC")
        if fr
        else ("Total", "Total due", "Amount due", "Balance due", "TOTAL", "Grand total")
    )
    doc.total(ctx.lab(total_label), ctx.money(base + tax), bold=True)
    if ctx.chance(0.1):
        paid = round((base + tax) * 0.3)
        doc.total(ctx.lab(ctx.tr(("Deposit paid",), ("Acompte versé",))), ctx.money(-paid))
        doc.total(
            ctx.lab(ctx.tr(("Balance due",), ("Reste à payer",))),
            ctx.money(base + tax - paid),
            bold=True,
        )


def _terms(ctx: Ctx, doc: Pages, seller: str) -> None:
    doc.space(0.6)
    doc.ensure(5)
    if ctx.chance(0.5):
        doc.heading(
            ctx.tr(
                ("Payment terms", "Terms", "Notes", "Terms & conditions"),
                (
                    "Conditions de paiement",
                    "Conditions",
                    "Modalités de règlement",
                    "Mentions légales",
                ),
            ),
            scale=0.85,
        )
    options = _PAY_TERMS_FR if ctx.lang == "fr" else _PAY_TERMS_EN
    for term in ctx.sample(options, ctx.rng.randint(1, 3)):
        doc.para(
            term.format(d=ctx.pick((15, 30, 45, 60)), p=ctx.pick((1, 1.5, 2)), seller=seller),
            ctx.rng.randint(70, 90),
        )
    doc.space(0.5)


def _bank(ctx: Ctx, doc: Pages, seller: str) -> None:
    doc.space(0.6)
    doc.ensure(6)
    doc.heading(
        ctx.tr(
            (
                "Bank details",
                "Payment details",
                "Remittance information",
                "Payment information",
                "BANK DETAILS",
            ),
            (
                "Coordonnées bancaires",
                "RIB",
                "Règlement par virement",
                "Informations de paiement",
                "Relevé d'identité bancaire",
            ),
        ),
        scale=0.85,
    )
    fields = [
        (ctx.tr(("Bank", "Bank name"), ("Banque", "Domiciliation")), bank_name(ctx)),
        ("IBAN", ctx.iban()),
        (ctx.tr(("BIC", "SWIFT", "BIC/SWIFT"), ("BIC", "Code BIC", "BIC/SWIFT")), ctx.fake.swift()),
    ]
    if ctx.locale == "en_GB" and ctx.chance(0.7):
        fields[1:1] = [
            ("Sort code", f"{ctx.digits(2)}-{ctx.digits(2)}-{ctx.digits(2)}"),
            ("Account number", ctx.digits(8)),
        ]
    elif ctx.locale == "en_US" and ctx.chance(0.7):
        fields[1:2] = [
            (ctx.pick(("Routing number", "ABA routing", "Routing #")), ctx.fake.aba()),
            (ctx.pick(("Account number", "Account #", "Account")), ctx.digits(10)),
        ]
    elif ctx.chance(0.3):
        fields.append((ctx.tr(("Account holder",), ("Titulaire du compte",)), seller))
    for label, value in fields:
        doc.kv(ctx.lab(label), value)
