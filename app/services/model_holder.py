"""The model currently serving, swapped atomically, and the watcher that keeps it current."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from app.domain.predictions import ModelRef
from app.ports import Classifier, ModelSource

log = logging.getLogger(__name__)


class ModelUnavailableError(Exception):
    """No model is loaded yet; the message says how to get one."""


class ModelHolder:
    """Holds one loaded :class:`Classifier`; replacing it is a single reference swap.

    A request takes ``holder.current`` once and uses that object to the end, so a
    swap in the middle never mixes two models in one response. The new model is
    loaded before the swap, so no request waits for a load; the last few loaded
    versions are kept, so a rollback to one of them swaps at once.

    Example::

        holder = ModelHolder(source, alias="champion")
        holder.refresh()                 # resolve + load, then swap
        holder.current.predict(["..."])
    """

    def __init__(self, source: ModelSource, *, alias: str = "champion", keep: int = 3) -> None:
        self.source = source
        self.alias = alias
        self.keep = keep
        self._current: Classifier | None = None
        self._loaded: OrderedDict[ModelRef, Classifier] = OrderedDict()
        self._load_lock = threading.Lock()
        self.listeners: list[Callable[[ModelRef], None]] = []
        self.load_listeners: list[Callable[[ModelRef, float], None]] = []

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
            model = self._loaded.get(ref)
            if model is None:
                started = time.perf_counter()
                model = self.source.load(ref)
                for on_load in self.load_listeners:
                    on_load(ref, time.perf_counter() - started)
            self._loaded[ref] = model
            self._loaded.move_to_end(ref)
            while len(self._loaded) > self.keep:
                self._loaded.popitem(last=False)
            self._current = model
        for listener in self.listeners:
            listener(ref)
        return ref


class ModelWatcher:
    """Polls the registry alias every ``interval`` seconds in a daemon thread.

    One registry call per interval per process, never one per request; a failed
    poll is logged and retried at the next tick, the serving model stays.
    """

    def __init__(self, holder: ModelHolder, interval: float) -> None:
        self.holder = holder
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.interval <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="model-watcher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.holder.refresh()
            except Exception as exc:  # a bad poll must not stop the watcher
                log.warning("model refresh failed, keeping the serving model: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
