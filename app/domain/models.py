"""Registered model versions, and the registry errors shared by adapters and services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


class ModelNotFoundError(Exception):
    """No model version answers to the name/alias asked for."""


class RegistryUnavailableError(Exception):
    """The model registry cannot be read now (unreachable, or its database damaged):
    not the same as a version or alias that does not exist."""


class ArtifactNotFoundError(Exception):
    """A model file the registry points at is not in the artifact store."""


class ModelLoadError(Exception):
    """A registered version could not be loaded; the serving model did not change."""


@dataclass(frozen=True)
class ModelVersionInfo:
    """One registered version as an admin sees it."""

    version: str
    aliases: tuple[str, ...]
    run_id: str
    created_at: datetime
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
