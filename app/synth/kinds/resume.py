"""Resumes / CVs: name, contact, profile, experience, education, skills, languages."""

import datetime as dt

from app.synth.compose import Ctx, Pages
from app.synth.formatting import MONTHS, MONTHS_ABBR
from app.synth.kinds.common import person

_TITLES = (
    ("Curriculum Vitae", "CURRICULUM VITAE", "Resume", "RESUME", "CV"),
    ("Curriculum vitae", "CURRICULUM VITAE", "CV"),
)
_SECTIONS = {
    "profile": (("Profile", "Professional Summary", "Summary", "About Me", "Career Objective",
                 "Personal Statement"),
                ("Profil", "Profil professionnel", "À propos", "Objectif professionnel",
                 "Résumé", "Présentation")),
    "experience": (("Professional Experience", "Work Experience", "Employment History",
                    "Experience", "Career History", "EXPERIENCE"),
                   ("Expérience professionnelle", "Expériences professionnelles", "Expériences",
                    "Parcours professionnel", "EXPÉRIENCE")),
    "education": (("Education", "Academic Background", "Education and Training",
                   "Qualifications", "EDUCATION"),
                  ("Formation", "Études", "Diplômes", "Formation et diplômes", "FORMATION")),
    "skills": (("Skills", "Key Skills", "Technical Skills", "Core Competencies", "SKILLS"),
               ("Compétences", "Compétences clés", "Savoir-faire", "Compétences techniques",
                "COMPÉTENCES")),
    "languages": (("Languages", "LANGUAGES", "Language Skills"),
                  ("Langues", "LANGUES", "Langues étrangères")),
    "interests": (("Interests", "Hobbies", "Hobbies and Interests", "Activities"),
                  ("Centres d'intérêt", "Loisirs", "Intérêts", "Activités")),
}  # fmt: skip
_PROFILE = (
    (
        "{job} with {n} years of experience in {field}.",
        "Results-driven {job_l} with a track record of delivering projects on time.",
        "Passionate about {field}, I enjoy solving complex problems in a team.",
        "Looking for a new challenge in a growing company.",
        "Strong communication and organisational skills, used to fast-paced environments.",
        "Experienced in leading small teams and managing client relationships.",
        "Seeking {a_job} position where I can put my {field} expertise to use.",
    ),
    (
        "{job} avec {n} ans d'expérience dans le domaine {field}.",
        "Rigoureux et autonome, habitué à travailler en équipe.",
        "Passionné par le domaine {field}, je recherche un poste de {job}.",
        "Solides compétences en organisation et en communication.",
        "Expérience confirmée de la gestion de projets et de la relation client.",
        "À la recherche de nouveaux défis au sein d'une entreprise dynamique.",
        "Disponible immédiatement, mobile sur toute la région.",
    ),
)
_FIELDS = (
    ("sales", "finance", "logistics", "software development", "customer service", "marketing",
     "healthcare", "education", "construction", "hospitality"),
    ("de la vente", "de la finance", "de la logistique", "du développement logiciel",
     "de la relation client", "du marketing", "de la santé", "de l'enseignement",
     "du bâtiment", "de l'hôtellerie"),
)  # fmt: skip
_BULLETS = (
    (
        "Managed a team of {n} people across two sites",
        "Increased annual sales by {p}% through new partnerships",
        "Reduced operating costs by {p}% by streamlining processes",
        "Led the migration of legacy systems to a cloud platform",
        "Handled customer enquiries and resolved complaints",
        "Prepared monthly reports for senior management",
        "Trained and mentored {n} new employees",
        "Coordinated suppliers, budgets and delivery schedules",
        "Designed and delivered internal training sessions",
        "Negotiated contracts with key accounts",
        "Implemented a new inventory management system",
        "Organised events for up to {n}0 participants",
        "Ensured compliance with health and safety regulations",
        "Developed new features used by {n}0,000 customers",
    ),
    (
        "Encadrement d'une équipe de {n} personnes",
        "Augmentation du chiffre d'affaires de {p} % en deux ans",
        "Réduction des coûts de fonctionnement de {p} %",
        "Pilotage de la migration du système d'information",
        "Accueil et conseil de la clientèle, traitement des réclamations",
        "Préparation des reportings mensuels pour la direction",
        "Formation et tutorat de {n} nouveaux collaborateurs",
        "Gestion des fournisseurs, des budgets et des plannings",
        "Conception et animation de formations internes",
        "Négociation des contrats avec les grands comptes",
        "Mise en place d'un nouvel outil de gestion des stocks",
        "Organisation d'événements jusqu'à {n}0 participants",
        "Respect des normes d'hygiène et de sécurité",
        "Développement de nouvelles fonctionnalités pour {n}0 000 clients",
    ),
)
_DEGREES = (
    ("Master's degree in {s}", "MSc {s}", "Bachelor of Science in {s}", "BA (Hons) {s}",
     "MBA", "Associate degree in {s}", "High School Diploma", "Professional certificate in {s}"),
    ("Master {s}", "Licence {s}", "BTS {s}", "DUT {s}", "Baccalauréat général",
     "Diplôme d'ingénieur", "Licence professionnelle {s}", "Master 2 {s}", "Doctorat {s}"),
)  # fmt: skip
_SUBJECTS = (
    ("Business Administration", "Computer Science", "Economics", "Marketing", "Accounting",
     "Mechanical Engineering", "Nursing", "Logistics", "Communication", "Law"),
    ("Gestion", "Informatique", "Économie", "Marketing", "Comptabilité", "Génie mécanique",
     "Commerce international", "Logistique", "Communication", "Droit des affaires"),
)  # fmt: skip
_SCHOOLS = (
    ("University of {city}", "{city} State University", "{last} College", "{city} Business School",
     "Institute of Technology, {city}"),
    ("Université de {city}", "IUT de {city}", "École de commerce de {city}", "Lycée {last}",
     "Institut universitaire de {city}", "École supérieure de {city}"),
)  # fmt: skip
_SKILLS = (
    ("Microsoft Excel", "Project management", "SQL", "Python", "Customer relations",
     "Team leadership", "Budgeting", "SAP", "Negotiation", "Public speaking", "Salesforce",
     "Data analysis", "Agile / Scrum", "Adobe Photoshop", "Bookkeeping", "Problem solving",
     "Time management", "Java", "Social media", "Quality control"),
    ("Pack Office (Excel, Word)", "Gestion de projet", "SQL", "Python", "Relation client",
     "Management d'équipe", "Gestion budgétaire", "SAP", "Négociation", "Prise de parole",
     "Analyse de données", "Méthodes agiles", "Photoshop", "Comptabilité", "Rigueur",
     "Sens de l'organisation", "Java", "Réseaux sociaux", "Contrôle qualité", "Autonomie"),
)  # fmt: skip
_LANGS = (
    (
        ("English", "French", "Spanish", "German", "Italian", "Mandarin"),
        ("native", "fluent", "intermediate", "basic", "C1", "B2", "professional working"),
    ),
    (
        ("Français", "Anglais", "Espagnol", "Allemand", "Italien", "Arabe"),
        ("langue maternelle", "courant", "intermédiaire", "notions", "C1", "B2", "bilingue"),
    ),
)
_INTERESTS = (
    ("Running", "Photography", "Travel", "Chess", "Volunteering", "Cooking", "Reading",
     "Hiking", "Football", "Music (guitar)", "Cycling", "Painting"),
    ("Course à pied", "Photographie", "Voyages", "Échecs", "Bénévolat", "Cuisine", "Lecture",
     "Randonnée", "Football", "Musique (piano)", "Vélo", "Théâtre"),
)  # fmt: skip


def _job(ctx: Ctx) -> str:
    """A Faker job title short enough for one line (a few are very long)."""
    job = ctx.fake.job()
    for _ in range(5):
        if len(job) <= 40:
            break
        job = ctx.fake.job()
    return job


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def _month(ctx: Ctx, day: dt.date) -> str:
    lang = ctx.lang
    style = ctx.rng.random()
    if style < 0.4:
        return f"{MONTHS_ABBR[lang][day.month - 1]} {day.year}"
    if style < 0.7:
        return f"{MONTHS[lang][day.month - 1]} {day.year}"
    return f"{day.month:02d}/{day.year}"


def build(ctx: Ctx) -> Pages:
    doc = Pages(budget=47)
    i = int(ctx.lang == "fr")
    who = person(ctx)
    job = _job(ctx)
    width = ctx.rng.randint(68, 88)

    if ctx.chance(0.25):
        doc.title(ctx.pick(_TITLES[i]), scale=0.8)
    name = who.name.upper() if ctx.chance(0.4) else who.name
    doc.title(name, align=ctx.pick(("", "center", "left")))
    if ctx.chance(0.8):
        doc.text(job, scale=1.15)
    contact = [
        ctx.fake.free_email(),
        ctx.phone(),
        ctx.fake.city() if ctx.chance(0.5) else ", ".join(ctx.address_lines()),
    ]
    if ctx.chance(0.4):
        contact.append(f"linkedin.com/in/{who.first.lower()}-{who.last.lower()}".replace(" ", ""))
    if i and ctx.chance(0.3):
        born = ctx.date(ctx.day(dt.date(1965, 1, 1), 35 * 365), "num")
        contact.append(
            ctx.pick(("Permis B", "Permis B - véhiculé", f"Né{'e' * who.female} le {born}"))
        )
    if ctx.chance(0.5):
        doc.text(" | ".join(contact[:3]) if ctx.chance(0.5) else " - ".join(contact[:2]))
        doc.lines(contact[3:] if ctx.chance(0.5) else [])
    else:
        labels: tuple[str, ...] = (
            ("E-mail", "Tél.", "Adresse") if i else ("Email", "Phone", "Address")
        )
        labels = (*labels, "LinkedIn", "")
        for label, value in zip(labels, contact, strict=False):
            if label:
                doc.kv(ctx.lab(label), value)
            else:
                doc.text(value)

    sections = ["experience", "education", "skills"]
    ctx.rng.shuffle(sections)
    if sections[0] != "experience" and ctx.chance(0.6):
        sections.remove("experience")
        sections.insert(0, "experience")
    if ctx.chance(0.75):
        sections.insert(0, "profile")
    sections += ctx.sample(("languages", "interests"), ctx.rng.randint(0, 2))

    years = ctx.rng.randint(2, 25)
    field = ctx.pick(_FIELDS[i])
    for section in sections:
        doc.space(0.8)
        doc.ensure(4)
        doc.heading(ctx.pick(_SECTIONS[section][i]))
        if ctx.chance(0.4):
            doc.rule()
        if section == "profile":
            sentences = ctx.sample(_PROFILE[i], ctx.rng.randint(2, 3))
            job_l = job[:1].lower() + job[1:]
            a_job = f"{'an' if job_l[:1] in 'aeiou' else 'a'} {job_l}"
            text = " ".join(
                _capitalize(s.format(job=job, job_l=job_l, a_job=a_job, n=years, field=field))
                for s in sentences
            )
            doc.para(text, width)
        elif section == "experience":
            _experience(ctx, doc, years, width)
        elif section == "education":
            _education(ctx, doc)
        elif section == "skills":
            skills = ctx.sample(_SKILLS[i], ctx.rng.randint(5, 10))
            if ctx.chance(0.5):
                doc.para(", ".join(skills), width)
            else:
                doc.lines([f"- {s}" for s in skills])
        elif section == "languages":
            names, levels = _LANGS[i]
            for lang in ctx.sample(names, ctx.rng.randint(2, 3)):
                doc.text(f"{lang}{ctx.colon or ' -'} {ctx.pick(levels)}")
        else:
            doc.text(", ".join(ctx.sample(_INTERESTS[i], ctx.rng.randint(3, 5))))
    if ctx.chance(0.3):
        doc.space(1)
        doc.text(
            ctx.tr(("References available upon request.",), ("Références sur demande.",)),
            role="small",
        )
    return doc


def _experience(ctx: Ctx, doc: Pages, years: int, width: int) -> None:
    i = int(ctx.lang == "fr")
    end = ctx.day(dt.date(2021, 1, 1), 4 * 365)
    present = ctx.tr(
        ("Present", "present", "Now", "Current"), ("aujourd'hui", "Présent", "ce jour")
    )
    for n in range(ctx.pick((2, 2, 3, 3, 4, 5))):
        start = end - dt.timedelta(days=ctx.rng.randint(300, 1800))
        period = f"{_month(ctx, start)} - {present if n == 0 else _month(ctx, end)}"
        if i and ctx.chance(0.3):
            period = f"Depuis {_month(ctx, start)}" if n == 0 else f"De {start.year} à {end.year}"
        title = _job(ctx)
        company = ctx.fake.company()
        doc.ensure(4)
        doc.space(0.4)
        if ctx.chance(0.5):
            doc.text(f"{title} - {company}", bold=True)
            doc.text(f"{period}, {ctx.fake.city()}", role="small")
        else:
            doc.cells(title, period, aligns="lr", role="kv", bold=True)
            doc.text(f"{company}, {ctx.fake.city()}")
        for bullet in ctx.sample(_BULLETS[i], ctx.rng.randint(1, 3)):
            text = bullet.format(n=ctx.rng.randint(3, 15), p=ctx.rng.randint(5, 40))
            doc.para(f"{ctx.pick(('-', '•', '*'))} {text}" if ctx.chance(0.8) else text, width)
        end = start - dt.timedelta(days=ctx.rng.randint(0, 120))


def _education(ctx: Ctx, doc: Pages) -> None:
    i = int(ctx.lang == "fr")
    year = ctx.rng.randint(1995, 2020)
    for _ in range(ctx.rng.randint(1, 3)):
        degree = ctx.pick(_DEGREES[i]).format(s=ctx.pick(_SUBJECTS[i]))
        school = ctx.pick(_SCHOOLS[i]).format(city=ctx.fake.city(), last=ctx.fake.last_name())
        doc.ensure(2)
        doc.space(0.3)
        if ctx.chance(0.5):
            doc.cells(degree, str(year), aligns="lr", role="kv", bold=True)
            doc.text(school)
        else:
            doc.text(f"{year} - {degree}", bold=ctx.chance(0.5))
            doc.text(school)
        year -= ctx.rng.randint(2, 4)
