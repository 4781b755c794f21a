"""Progress bars for long steps (tqdm), silent when asked."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def bar(enabled: bool):  # type: ignore[no-untyped-def]
    def progress(items: Iterable[T], desc: str, total: int) -> Iterator[T]:
        if not enabled:
            yield from items
            return
        from tqdm import tqdm

        yield from tqdm(items, desc=desc, total=total, unit="doc", dynamic_ncols=True)

    return progress
