"""Who is calling: the verified identity every service call carries."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    subject: str
    is_admin: bool = False

    def can_see(self, owner: str) -> bool:
        return self.is_admin or self.subject == owner


LOCAL_PRINCIPAL = Principal(subject="local-user", is_admin=True)
