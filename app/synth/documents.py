"""Content generation (no rendering): `make_document` and `iter_documents`."""

from collections.abc import Callable, Iterator, Sequence

from app.domain.labels import DOCUMENT_CLASSES, LANGUAGES
from app.synth.compose import Ctx, Pages
from app.synth.kinds import identity, invoice, letter, receipt, resume, statement
from app.synth.model import Line, SyntheticDocument
from app.synth.seeding import derive_seed

__all__ = ["Line", "SyntheticDocument", "derive_seed", "iter_documents", "make_document"]

_BUILDERS: dict[str, Callable[[Ctx], Pages]] = {
    "invoice": invoice.build,
    "receipt": receipt.build,
    "resume": resume.build,
    "identity_document": identity.build,
    "letter": letter.build,
    "bank_statement": statement.build,
}
assert set(_BUILDERS) == set(DOCUMENT_CLASSES)


def make_document(label: str, lang: str, seed: int) -> SyntheticDocument:
    if label not in _BUILDERS:
        raise ValueError(f"unknown document class {label!r}; expected one of {DOCUMENT_CLASSES}")
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; expected one of {LANGUAGES}")
    # Mixing label and language in keeps documents that share a seed unrelated.
    ctx = Ctx.create(lang, derive_seed("content", label, lang, seed))
    pages = _BUILDERS[label](ctx).freeze()
    return SyntheticDocument(label=label, lang=lang, seed=seed, pages=pages)


def iter_documents(
    per_class: int, seed: int, langs: Sequence[str] = ("en", "fr")
) -> Iterator[SyntheticDocument]:
    """`per_class` documents of every class, interleaved so any prefix stays balanced.

    The n-th document of a class uses language langs[(n + class index) % len(langs)], which
    balances languages within each class and across the whole stream.
    """
    if not langs:
        raise ValueError("langs must not be empty")
    for n in range(per_class):
        for k, label in enumerate(DOCUMENT_CLASSES):
            lang = langs[(n + k) % len(langs)]
            yield make_document(label, lang, derive_seed(seed, label, n))
