"""The model currently serving, swapped atomically."""

from __future__ import annotations

import threading
from collections.abc import Callable

from app.domain.predictions import ModelRef
from app.ports import Classifier, ModelSource


class ModelUnavailableError(Exception):
    """No model is loaded yet; the message says how to get one."""


class ModelHolder:
    """Holds one loaded :class:`Classifier`; replacing it is a single reference swap.

    A request takes ``holder.current`` once and uses that object to the end, so a
    swap in the middle never mixes two models in one response.

    Example::

        holder = ModelHolder(source, alias="champion")
        holder.refresh()                 # resolve + load, then swap
        holder.current.predict(["..."])
    """

    def __init__(self, source: ModelSource, *, alias: str = "champion") -> None:
        self.source = source
        self.alias = alias
        self._current: Classifier | None = None
        self._load_lock = threading.Lock()
        self.listeners: list[Callable[[ModelRef], None]] = []

    @property
    def current(self) -> Classifier:
        model = self._current
        if model is None:
            raise ModelUnavailableError(
                "No model is loaded yet: train one with `mlops train` or wait for start-up."
            )
        return model

    @property
    def loaded(self) -> ModelRef | None:
        model = self._current
        return model.ref if model is not None else None

    def refresh(self) -> ModelRef:
        """Resolve the alias and, if it moved, load the new version and swap it in."""
        with self._load_lock:
            ref = self.source.resolve(self.alias)
            if self._current is not None and self._current.ref == ref:
                return ref
            model = self.source.load(ref)  # loaded before the swap: no request waits
            self._current = model
        for listener in self.listeners:
            listener(ref)
        return ref
