"""Stable seed derivation shared by content generation and rendering."""

import hashlib


def derive_seed(*parts: object) -> int:
    """Stable 63-bit seed from its parts (unlike hash(), independent of PYTHONHASHSEED)."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1
