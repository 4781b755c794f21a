"""Process-wide Faker instances, one per locale.

Building a Faker proxy costs tens of milliseconds, far more than generating a whole
document, so instances are created lazily once and re-seeded per document. Re-seeding a
shared instance makes document generation non-reentrant (not thread-safe), which is fine
for the single-threaded generator and its worker processes.
"""

from functools import cache

from faker import Faker


@cache
def _faker(locale: str) -> Faker:
    return Faker(locale)


def seeded_faker(locale: str, seed: int) -> Faker:
    fake = _faker(locale)
    fake.seed_instance(seed)
    return fake
