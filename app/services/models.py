"""Champion and challenger: list registered versions, promote one, roll back."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from app.domain.models import ModelLoadError, ModelNotFoundError, ModelVersionInfo
from app.domain.predictions import ModelRef
from app.ports import ModelRegistry
from app.services.model_holder import ModelHolder

log = logging.getLogger(__name__)

CHAMPION = "champion"


@dataclass(frozen=True)
class Promotion:
    version: str
    previous_version: str | None
    serving: ModelRef | None


@dataclass
class ModelService:
    """Example::

    service.promote("document-classifier", "4")   # serving version 4 when this returns
    service.promote("document-classifier", "3")   # rollback
    """

    registry: ModelRegistry
    holder: ModelHolder

    def __post_init__(self) -> None:
        # One promotion at a time in a process: an undo must not overwrite another's move.
        self._lock = threading.Lock()

    def versions(self) -> Sequence[ModelVersionInfo]:
        return self.registry.versions()

    def promote(self, model_name: str, version: str) -> Promotion:
        """Move ``champion`` to ``version`` and swap it in before returning.

        If the version cannot be loaded, the alias goes back where it was and the
        serving model does not change.
        """
        if model_name != self.registry.model_name:
            raise ModelNotFoundError(
                f"No model named {model_name!r}: this service serves {self.registry.model_name!r}."
            )
        with self._lock:
            previous = self.registry.alias_version(CHAMPION)
            self.registry.set_alias(CHAMPION, version)
            if self.holder.alias != CHAMPION:
                return Promotion(version, previous, self.holder.loaded)
            try:
                serving = self.holder.refresh()
            except Exception as exc:
                if previous is not None:
                    self.registry.set_alias(CHAMPION, previous)
                raise ModelLoadError(
                    f"Version {version} of {model_name!r} could not be loaded ({exc});"
                    f" the champion stays version {previous}."
                ) from exc
        log.info("champion of %s is now version %s (was %s)", model_name, version, previous)
        return Promotion(version, previous, serving)
