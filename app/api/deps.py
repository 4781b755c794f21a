"""Dependencies as ``Annotated`` aliases, so routes read as what they need."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from app.api.auth import local_user
from app.bootstrap import Container
from app.domain.identity import LOCAL_PRINCIPAL, Principal
from app.settings import Settings


async def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.container.settings
    return settings


async def get_principal(request: Request) -> Principal:
    """The caller's identity, from the bearer token (``app.api.auth``).

    With auth off (local mode) every caller is the local admin user, answered
    on the event loop; token checks run in the thread pool, because a JWKS
    refresh is network I/O.
    """
    authenticate = request.app.state.authenticate
    if authenticate is local_user:
        return LOCAL_PRINCIPAL
    principal: Principal = await run_in_threadpool(authenticate, request)
    return principal


async def get_admin(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if not principal.is_admin:
        raise HTTPException(403, "This route needs the admin role.")
    return principal


ContainerDep = Annotated[Container, Depends(get_container)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
CurrentUser = Annotated[Principal, Depends(get_principal)]
AdminUser = Annotated[Principal, Depends(get_admin)]
