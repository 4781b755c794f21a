"""Business and personal letters: sender, recipient, place/date, subject, body, signature."""

import datetime as dt

from app.synth.compose import Ctx, Pages
from app.synth.kinds.common import (
    Person,
    company_name,
    formal_name,
    honorific,
    person,
)
from app.synth.model import Line

# Topic -> (subjects, paragraphs); each paragraph is a tuple of alternative sentences.
# Placeholders: {company} {date} {ref} {amount} {job} {city} {product} {weeks}.
_TOPICS_EN = {
    "complaint": (
        ("Complaint regarding order {ref}", "Defective product - order {ref}",
         "Formal complaint"),
        (
            ("I am writing to complain about the {product} I received on {date}.",
             "On {date} I received order {ref}, which unfortunately did not meet expectations."),
            ("The item arrived damaged and does not work as described on your website.",
             "Despite several calls to your customer service, the problem has not been solved.",
             "The delivery was three weeks late and the packaging had been opened."),
            ("I would therefore be grateful if you could replace it or refund the full amount "
             "of {amount} within {weeks} weeks.",
             "I ask you to arrange a full refund of {amount} as soon as possible."),
            ("Please find enclosed a copy of the invoice and photographs of the damage.",
             "I look forward to your prompt reply."),
        ),
    ),
    "application": (
        ("Application for the position of {job}", "Job application - {job}", "Re: {job} vacancy"),
        (
            ("I am writing to apply for the position of {job} advertised on your website.",
             "I would like to express my interest in the {job} role at {company}."),
            ("Over the past few years I have developed strong skills in project management, "
             "customer relations and teamwork.",
             "In my current role I am responsible for coordinating a team and reporting to "
             "senior management."),
            ("I am confident that my experience would allow me to contribute to your success.",
             "Your company's reputation for quality particularly attracts me."),
            ("I enclose my CV and would welcome the opportunity to discuss my application "
             "at an interview.",
             "I am available for an interview at your convenience."),
        ),
    ),
    "termination": (
        ("Termination of contract {ref}", "Notice of cancellation", "Cancellation of subscription"),
        (
            ("I hereby give notice of the termination of my contract no. {ref}.",
             "Please accept this letter as formal notice to cancel my subscription {ref}."),
            ("In accordance with the terms of the agreement, the termination will take effect "
             "at the end of the notice period of {weeks} weeks.",
             "I would be grateful if you could confirm the date on which the contract ends."),
            ("Please stop any further direct debits from my account after that date.",
             "Kindly send me a final statement of account."),
        ),
    ),
    "reminder": (
        ("Payment reminder - invoice {ref}", "Overdue account", "Second reminder: invoice {ref}"),
        (
            ("According to our records, invoice {ref} dated {date} for {amount} remains unpaid.",
             "We note that the amount of {amount} due on {date} has not yet been received."),
            ("We would be grateful if you could settle this amount within {weeks} weeks.",
             "If payment has already been made, please disregard this letter."),
            ("Should you have any questions regarding this invoice, please contact our "
             "accounts department.",
             "Failing payment, we may have to pass the matter to a collection agency."),
        ),
    ),
    "information": (
        ("Change of address", "Important information about your account", "Update to our terms"),
        (
            ("We are writing to inform you that from {date} our offices will move to {city}.",
             "We would like to let you know about changes to our terms and conditions from "
             "{date}."),
            ("These changes will not affect the services you currently receive.",
             "Your account number and contact details remain unchanged."),
            ("Full details are available on our website or from our customer service team.",
             "Please keep this letter for your records."),
        ),
    ),
    "meeting": (
        ("Confirmation of our meeting", "Invitation to our annual meeting",
         "Appointment on {date}"),
        (
            ("Further to our telephone conversation, I am pleased to confirm our meeting on "
             "{date} at our offices in {city}.",
             "We are pleased to invite you to our annual meeting, which will take place on "
             "{date}."),
            ("The agenda will include the review of the past year and the budget for the next "
             "one.",
             "We will present the progress of the project and discuss the next steps."),
            ("Please confirm your attendance by replying to this letter.",
             "Do not hesitate to contact me if you need any further information."),
        ),
    ),
    "reference": (
        ("Letter of recommendation", "Reference for {name}", "To whom it may concern"),
        (
            ("I have known {name} for {weeks} years as a {job} at {company}.",
             "It is my pleasure to recommend {name}, who worked with us as a {job}."),
            ("During this time {name} proved to be reliable, hard-working and well liked by "
             "colleagues and clients.",
             "{name} consistently showed initiative and an excellent sense of organisation."),
            ("I recommend {name} without reservation for any similar position.",
             "I am happy to provide further information if required."),
        ),
    ),
}  # fmt: skip
_TOPICS_FR = {
    "complaint": (
        ("Réclamation concernant la commande {ref}", "Produit défectueux - commande {ref}",
         "Réclamation"),
        (
            ("Je me permets de vous écrire au sujet du produit « {product} » reçu le {date}.",
             "Le {date}, j'ai reçu la commande n° {ref}, qui ne correspond malheureusement pas "
             "à mes attentes."),
            ("L'article est arrivé endommagé et ne fonctionne pas comme indiqué sur votre site.",
             "Malgré plusieurs appels à votre service client, le problème n'a pas été résolu.",
             "La livraison a eu trois semaines de retard et le colis avait été ouvert."),
            ("Je vous saurais donc gré de bien vouloir procéder à son remplacement ou au "
             "remboursement de la somme de {amount} sous {weeks} semaines.",
             "Je vous demande de bien vouloir me rembourser la somme de {amount} dans les "
             "meilleurs délais."),
            ("Vous trouverez ci-joint une copie de la facture ainsi que des photographies.",
             "Dans l'attente de votre réponse, je reste à votre disposition."),
        ),
    ),
    "application": (
        ("Candidature au poste de {job}", "Candidature spontanée", "Lettre de motivation - {job}"),
        (
            ("Je souhaite vous proposer ma candidature au poste de {job} paru sur votre site.",
             "Vivement intéressé par le poste de {job} au sein de {company}, je vous adresse "
             "ma candidature."),
            ("Au cours des dernières années, j'ai acquis de solides compétences en gestion de "
             "projet, en relation client et en travail d'équipe.",
             "Dans mon poste actuel, je suis chargé de coordonner une équipe et de rendre compte "
             "à la direction."),
            ("Je suis convaincu que mon expérience me permettrait de contribuer à votre "
             "développement.",
             "La réputation de votre entreprise m'attire particulièrement."),
            ("Vous trouverez ci-joint mon curriculum vitae. Je me tiens à votre disposition "
             "pour un entretien.",
             "Je serais heureux de vous rencontrer afin de vous exposer mes motivations."),
        ),
    ),
    "termination": (
        ("Résiliation du contrat n° {ref}", "Résiliation de mon abonnement",
         "Lettre de résiliation"),
        (
            ("Par la présente, je vous informe de ma décision de résilier le contrat n° {ref}.",
             "Je vous prie de bien vouloir prendre note de la résiliation de mon abonnement "
             "n° {ref}."),
            ("Conformément aux conditions générales, la résiliation prendra effet à l'issue "
             "du préavis de {weeks} semaines.",
             "Je vous remercie de bien vouloir me confirmer la date de fin du contrat."),
            ("Je vous demande de cesser tout prélèvement sur mon compte après cette date.",
             "Merci de m'adresser un décompte de clôture."),
        ),
    ),
    "reminder": (
        ("Relance - facture n° {ref}", "Rappel de paiement", "Mise en demeure de payer"),
        (
            ("Sauf erreur de notre part, la facture n° {ref} du {date} d'un montant de "
             "{amount} reste impayée à ce jour.",
             "Nous constatons que la somme de {amount}, échue le {date}, ne nous est pas "
             "parvenue."),
            ("Nous vous remercions de bien vouloir régulariser cette situation sous {weeks} "
             "semaines.",
             "Si ce règlement a déjà été effectué, nous vous prions de ne pas tenir compte de "
             "ce courrier."),
            ("Notre service comptabilité reste à votre disposition pour toute question.",
             "À défaut de paiement, nous serons contraints d'engager une procédure de "
             "recouvrement."),
        ),
    ),
    "information": (
        ("Changement d'adresse", "Information importante concernant votre compte",
         "Modification de nos conditions générales"),
        (
            ("Nous vous informons qu'à compter du {date}, nos bureaux seront transférés à "
             "{city}.",
             "Nous souhaitons vous informer de l'évolution de nos conditions générales à "
             "partir du {date}."),
            ("Ces changements n'auront aucune incidence sur les services dont vous "
             "bénéficiez.",
             "Votre numéro de client et vos interlocuteurs restent inchangés."),
            ("Toutes les informations sont disponibles sur notre site ou auprès de notre "
             "service client.",
             "Nous vous invitons à conserver ce courrier."),
        ),
    ),
    "meeting": (
        ("Confirmation de rendez-vous", "Convocation à l'assemblée générale",
         "Rendez-vous du {date}"),
        (
            ("Suite à notre entretien téléphonique, je vous confirme notre rendez-vous du "
             "{date} dans nos locaux de {city}.",
             "Nous avons le plaisir de vous convier à notre assemblée générale annuelle qui "
             "se tiendra le {date}."),
            ("L'ordre du jour portera sur le bilan de l'exercice écoulé et le budget "
             "prévisionnel.",
             "Nous ferons le point sur l'avancement du projet et les prochaines étapes."),
            ("Merci de bien vouloir nous confirmer votre présence.",
             "Je reste à votre disposition pour tout renseignement complémentaire."),
        ),
    ),
    "reference": (
        ("Lettre de recommandation", "Attestation de recommandation", "Recommandation"),
        (
            ("Je connais {name} depuis {weeks} ans en qualité de {job} chez {company}.",
             "C'est avec plaisir que je recommande {name}, qui a travaillé avec nous comme "
             "{job}."),
            ("Durant cette période, {name} s'est montré fiable, travailleur et apprécié de "
             "ses collègues comme des clients.",
             "{name} a toujours fait preuve d'initiative et d'un excellent sens de "
             "l'organisation."),
            ("Je recommande {name} sans réserve pour tout poste similaire.",
             "Je reste à votre disposition pour tout complément d'information."),
        ),
    ),
}  # fmt: skip
# Longer paragraphs that make some letters run onto a second page, per voice: a company
# writing to a customer, a customer writing to a company, an applicant, a referee.
_EXTRA_EN = {
    "business": (
        "We have reviewed the file carefully, including the correspondence exchanged over the "
        "past months and the documents you provided. Our teams have checked each point and we "
        "are now in a position to give you a complete answer.",
        "For your information, the conditions described above apply to all our customers and "
        "have been approved by our management. They are also available on request from our "
        "offices, where our staff will be happy to explain them to you in detail.",
        "We would also like to remind you that any change in your situation should be "
        "reported to us as soon as possible, so that we can update your file and avoid any "
        "delay in the processing of your requests.",
        "Should the situation not be resolved within the time indicated, we reserve the right "
        "to take any further steps necessary. We trust, however, that this will not be needed "
        "and that we can settle this matter quickly and amicably.",
        "Thank you in advance for your cooperation. We remain convinced that our relationship "
        "will continue to develop in the coming years, and we are grateful for the trust you "
        "have placed in {company}.",
    ),
    "customer": (
        "I have always acted in good faith in this matter and have kept copies of all the "
        "documents and letters exchanged, which I can send you if needed.",
        "I would like to point out that I have been a loyal customer for several years and "
        "that this is the first time I have had to write to you in these terms.",
        "I remain available by telephone or e-mail should you wish to discuss this matter, "
        "and I can also come to your offices at a time that suits you.",
        "I would be grateful if you could send me written confirmation of the steps you "
        "intend to take, together with the expected timetable.",
    ),
    "application": (
        "I am particularly motivated by the prospect of joining a team that values initiative, "
        "and I am ready to invest myself fully in this new role.",
        "My previous positions have taught me to work under pressure, to set priorities and to "
        "keep clear communication with colleagues and clients alike.",
        "I am also used to working with budgets and deadlines, and I have led several projects "
        "from the first draft to the final delivery.",
    ),
    "reference": (
        "{name} quickly became a valued member of the team and took on additional "
        "responsibilities after only a few months, including the training of new staff.",
        "Beyond professional skills, {name} showed great personal qualities: punctuality, "
        "discretion and a real sense of service.",
        "I was sorry to see {name} leave, and I would gladly work together again.",
    ),
}
_EXTRA_FR = {
    "business": (
        "Nous avons examiné votre dossier avec attention, y compris les échanges de courrier "
        "des derniers mois et les documents que vous nous avez transmis. Nos équipes ont "
        "vérifié chaque point et nous sommes désormais en mesure de vous apporter une réponse "
        "complète.",
        "Pour votre information, les conditions décrites ci-dessus s'appliquent à l'ensemble de "
        "notre clientèle et ont été validées par notre direction. Elles sont également "
        "disponibles sur simple demande auprès de nos services.",
        "Nous vous rappelons par ailleurs que tout changement de situation doit nous être "
        "signalé dans les meilleurs délais, afin que nous puissions mettre à jour votre dossier "
        "et éviter tout retard dans le traitement de vos demandes.",
        "À défaut de régularisation dans le délai indiqué, nous nous réservons le droit "
        "d'engager toute démarche utile. Nous ne doutons pas toutefois que cette affaire pourra "
        "être réglée rapidement et à l'amiable.",
        "Nous vous remercions par avance de votre collaboration et de la confiance que vous "
        "accordez à {company}. Nous restons à votre entière disposition pour tout "
        "renseignement complémentaire.",
    ),
    "customer": (
        "J'ai toujours agi de bonne foi dans ce dossier et je conserve une copie de l'ensemble "
        "des documents et courriers échangés, que je peux vous transmettre si nécessaire.",
        "Je tiens à préciser que je suis client de votre établissement depuis plusieurs années "
        "et que c'est la première fois que je dois vous écrire en ces termes.",
        "Je reste joignable par téléphone ou par courriel pour en discuter, et je peux "
        "également me déplacer dans vos locaux à votre convenance.",
        "Je vous serais reconnaissant de bien vouloir me confirmer par écrit les démarches "
        "envisagées ainsi que le calendrier prévu.",
    ),
    "application": (
        "Je suis particulièrement motivé à l'idée de rejoindre une équipe qui valorise "
        "l'initiative, et je suis prêt à m'investir pleinement dans ce nouveau poste.",
        "Mes expériences précédentes m'ont appris à travailler sous pression, à fixer des "
        "priorités et à communiquer clairement avec mes collègues comme avec les clients.",
        "J'ai également l'habitude de gérer des budgets et des échéances, et j'ai mené "
        "plusieurs projets de la conception à la livraison.",
    ),
    "reference": (
        "{name} s'est rapidement intégré à l'équipe et a pris de nouvelles responsabilités au "
        "bout de quelques mois, notamment la formation des nouveaux arrivants.",
        "Au-delà de ses compétences professionnelles, {name} a fait preuve de grandes qualités "
        "humaines : ponctualité, discrétion et sens du service.",
        "J'ai regretté le départ de {name} et je retravaillerais volontiers à ses côtés.",
    ),
}
_VOICES = {
    "application": "application",
    "reference": "reference",
    "complaint": "customer",
    "termination": "customer",
}
_PRODUCTS = (
    ("washing machine", "laptop", "office chair", "coffee machine", "printer", "sofa"),
    ("lave-linge", "ordinateur portable", "fauteuil de bureau", "machine à café", "imprimante",
     "canapé"),
)  # fmt: skip
_CLOSINGS_EN = (
    "Yours sincerely,",
    "Yours faithfully,",
    "Kind regards,",
    "Best regards,",
    "Sincerely,",
    "Regards,",
    "With best wishes,",
)
_CLOSINGS_FR = (
    "Veuillez agréer, {sal} l'expression de mes salutations distinguées.",
    "Je vous prie d'agréer, {sal} l'expression de mes sentiments distingués.",
    "Dans l'attente de votre réponse, je vous prie de recevoir, {sal} mes salutations "
    "respectueuses.",
    "Cordialement,",
    "Bien cordialement,",
    "Nous vous prions d'agréer, {sal} nos salutations distinguées.",
)


def build(ctx: Ctx) -> Pages:
    doc = Pages(budget=44)
    fr = ctx.lang == "fr"
    width = ctx.rng.randint(66, 86)
    topics = _TOPICS_FR if fr else _TOPICS_EN
    topic = ctx.pick(tuple(topics))
    subjects, paragraphs = topics[topic]
    business = topic in ("reminder", "information", "meeting") or ctx.chance(0.4)
    sender_person = person(ctx)
    recipient = person(ctx)
    company = company_name(ctx)
    when = ctx.day()
    place = ctx.fake.city()
    values = {
        "company": company,
        "date": ctx.date(_related_day(ctx, when, topic), "long"),
        "ref": f"{ctx.letters(2)}-{ctx.digits(6)}",
        "amount": ctx.money(ctx.rng.randint(2000, 400000)),
        "job": ctx.fake.job().lower() if fr else ctx.fake.job(),
        "city": ctx.fake.city(),
        "product": ctx.pick(_PRODUCTS[int(fr)]),
        "weeks": str(ctx.pick((2, 3, 4, 6, 8))),
        "name": person(ctx).name if topic == "reference" else sender_person.name,
    }

    sender = [company] if business else [sender_person.name]
    sender += ctx.address_lines()
    if ctx.chance(0.5):
        sender.append(ctx.phone())
    if ctx.chance(0.4):
        sender.append(ctx.fake.free_email())
    header_align = ctx.pick(("", "", "center"))
    if business and ctx.chance(0.5):
        doc.text(company, role="heading", scale=1.3, align=header_align)
        doc.lines(sender[1:], role="small", align=header_align)
    else:
        doc.lines(sender)

    doc.space(1.2)
    title = honorific(ctx, recipient)  # one honorific for the address and the salutation
    recipient_lines = [formal_name(ctx, recipient, ctx.pick((None, title)))]
    if ctx.chance(0.5):
        recipient_lines.append(company_name(ctx) if business or ctx.chance(0.5) else "")
    recipient_lines += ctx.address_lines()
    right = ctx.chance(0.6)  # French letters usually put the recipient on the right
    if ctx.chance(0.3):
        label = ctx.tr(("To:", "Recipient:"), ("À l'attention de :", "Destinataire :"))
        doc.text(label, align="right" if right else "", bold=True)
    doc.lines([r for r in recipient_lines if r], align="right" if right else "")

    doc.space(1)
    date_text = ctx.date(when, ctx.pick(("long", "long", "num")))
    dated = ctx.tr(
        (f"{place}, {date_text}", date_text, f"Date: {date_text}"),
        (f"{place}, le {date_text}", f"Fait à {place}, le {date_text}", f"Le {date_text}"),
    )
    doc.text(dated, align=ctx.pick(("right", "", "right")))
    if ctx.chance(0.35):
        ours = ctx.tr(("Our ref.", "Ref."), ("N/Réf.", "Nos réf."))
        doc.text(f"{ctx.lab(ours)} {ctx.letters(3)}/{ctx.digits(4)}")
    if ctx.chance(0.15):
        doc.text(
            ctx.tr(
                ("Registered letter", "BY EMAIL"),
                ("Lettre recommandée avec accusé de réception", "LRAR"),
            ),
            bold=True,
        )

    subject = ctx.pick(subjects).format(**values)
    if ctx.chance(0.85):  # some letters have no subject line at all
        label = ctx.tr(("Subject:", "Re:", "RE:", "Subject :"), ("Objet :", "Objet:", "OBJET :"))
        doc.space(0.8)
        doc.text(f"{label} {subject}", bold=ctx.chance(0.6))

    doc.space(1)
    salutation = _salutation(ctx, recipient, topic, title)
    doc.text(salutation)
    doc.space(0.5)
    long = ctx.chance(0.3)  # long letters use every variant and spill onto a second page
    body = [
        (" ".join(options) if long else ctx.pick(options)).format(**values)
        for options in paragraphs
    ]
    if _VOICES.get(topic, "business") == "business" and ctx.chance(0.5):
        body.insert(1, _filler(ctx))
    if long:
        voice = _VOICES.get(topic, "business")
        extra = (_EXTRA_FR if fr else _EXTRA_EN)[voice]
        for para in ctx.sample(extra, ctx.rng.randint(3, 5)):
            body.insert(ctx.rng.randint(1, len(body) - 1), para.format(**values))
    for para in body:
        lines = len(para) // width + 1
        doc.ensure(lines + 1)
        doc.para(para, width)
        doc.space(0.6)

    closing = ctx.pick(_CLOSINGS_FR if fr else _CLOSINGS_EN)
    sal = salutation.rstrip(",") + ","
    doc.ensure(6)
    doc.para(closing.format(sal=sal), width)
    doc.space(1.5)
    doc.text(sender_person.name, bold=ctx.chance(0.3))
    if business:
        doc.text(
            ctx.fake.job()
            if not fr
            else ctx.pick(
                (
                    "Directeur commercial",
                    "Responsable comptabilité",
                    "Gérant",
                    "Service client",
                    "Directrice des ressources humaines",
                    "Chargé de clientèle",
                )
            )
        )
    if ctx.chance(0.3):
        doc.space(1)
        enc = ctx.tr(("Enclosure:", "Enc.:", "Attachments:"), ("P.J. :", "Pièces jointes :"))
        doc.text(
            f"{enc} {ctx.tr(('copy of invoice', 'CV'), ('copie de la facture', 'CV'))}",
            role="small",
        )
    if len(doc.pages) > 1 and ctx.chance(0.6):
        marker = ctx.tr(
            (f"{recipient.name} - {date_text} - page 2", "Page 2", "- 2 -"),
            (f"{recipient.name} - {date_text} - page 2", "Page 2/2", "- 2 -"),
        )
        doc.pages[1].insert(0, Line(marker, role="small", align=ctx.pick(("", "right"))))
    return doc


def _salutation(ctx: Ctx, recipient: Person, topic: str, title: str) -> str:
    if ctx.lang == "fr":
        named = "Madame," if recipient.female else "Monsieur,"
        return ctx.pick(
            (
                "Madame, Monsieur,",
                named,
                "Madame, Monsieur,",
                "Chère Madame," if recipient.female else "Cher Monsieur,",
            )
        )
    if topic == "reference":
        return "To whom it may concern,"
    return ctx.pick(
        (
            "Dear Sir or Madam,",
            f"Dear {title} {recipient.last},",
            f"Dear {recipient.first},",
            "Dear Sir/Madam,",
        )
    )


def _filler(ctx: Ctx) -> str:
    """A sentence-level paragraph from Faker so that bodies do not repeat verbatim."""
    if ctx.lang == "fr":
        return ctx.pick(
            (
                "Nous attachons une grande importance à la qualité de nos relations.",
                "Comme convenu lors de notre dernier échange, je reviens vers vous à ce sujet.",
                "Je me permets de vous rappeler que ce dossier est suivi par notre service.",
                "Nous avons bien pris en compte vos remarques et vous en remercions.",
            )
        )
    return ctx.pick(
        (
            "We value our relationship and want to keep you informed.",
            "As agreed during our last conversation, I am following up on this matter.",
            "Please note that your file is being handled by our customer service team.",
            "Thank you for the feedback you shared with us last month.",
        )
    )


def _related_day(ctx: Ctx, when: dt.date, topic: str) -> dt.date:
    """Dates in the body precede the letter (orders, invoices) or follow it (meetings)."""
    days = ctx.rng.randint(5, 60)
    future = topic in ("information", "meeting")
    return when + dt.timedelta(days=days if future else -days)
