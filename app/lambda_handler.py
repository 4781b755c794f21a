"""The API on AWS Lambda: mangum over the FastAPI app, for API Gateway HTTP API (v2) events.

The image runs ``python -m awslambdaric`` with the command ``app.lambda_handler.handler``.

The app starts once per execution environment, not once per invocation. With its default
``lifespan="auto"``, mangum 0.22 enters a new ``LifespanCycle`` inside every
``Mangum.__call__`` (``mangum/adapter.py``): start-up and shut-down around each event, which
here would rebuild the container and resolve and load the champion for every request. So
mangum runs with ``lifespan="off"`` and :class:`LambdaApp` enters the app's lifespan itself,
once, and keeps it.

Importing this module is cheap (no FastAPI, no boto3, no model): tools and tests import it
freely, and the start-up is paid where it is chosen below.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI
    from mangum import Mangum
    from mangum.protocols import LifespanCycle

    from app.bootstrap import Container

# Lambda environments whose init phase runs ahead of any request.
_INIT_AHEAD = frozenset({"provisioned-concurrency", "snap-start"})


def _create_app() -> FastAPI:
    from app.api.main import create_app

    return create_app()


class LambdaApp:
    """One FastAPI app per execution environment: started on first need, then reused.

    Example::

        handler = LambdaApp(lambda: create_app(settings))
        handler(api_gateway_v2_event, context)  # starts the app, then serves
        handler(api_gateway_v2_event, context)  # serves with the same model
    """

    def __init__(self, factory: Callable[[], FastAPI] = _create_app) -> None:
        self.factory = factory
        self._lock = threading.Lock()
        self._adapter: Mangum | None = None
        self._lifespan: LifespanCycle | None = None
        self.app: FastAPI | None = None

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        return self.start()(event, context)

    def start(self) -> Mangum:
        """Build the app and run its start-up (container, champion, background work) once."""
        if self._adapter is None:
            with self._lock:
                if self._adapter is None:
                    self._adapter = self._start()
        return self._adapter

    def _start(self) -> Mangum:
        from mangum import Mangum
        from mangum.protocols import LifespanCycle

        app = self.factory()
        # Mangum() first: it installs the event loop that every request then runs on, and
        # the lifespan must live in that same loop. "on" makes a failed start-up raise
        # (the invocation fails, the next one tries again) instead of serving half-built.
        adapter = Mangum(app, lifespan="off")
        lifespan = LifespanCycle(app, "on")
        lifespan.__enter__()
        self.app, self._lifespan = app, lifespan
        return adapter

    @property
    def container(self) -> Container:
        if self.app is None:
            raise RuntimeError("The app has not started: call the handler or start() first.")
        container: Container = self.app.state.container
        return container

    def close(self) -> None:
        """Run the app's shut-down. Lambda itself never calls this: an environment is frozen
        then discarded, and nothing here needs flushing (records are written per request,
        the registry watcher is a daemon thread). Tests and long-lived hosts call it."""
        with self._lock:
            lifespan, self._lifespan, self._adapter, self.app = self._lifespan, None, None, None
        if lifespan is not None:
            lifespan.__exit__(None, None, None)


handler = LambdaApp()

# When to start. With provisioned concurrency (and SnapStart) Lambda runs the init phase
# before any request reaches the environment, so starting here takes the model load off
# every request. On demand, init and the first invocation are both on the first request's
# path, so starting lazily costs that request nothing extra, keeps the import cheap, and
# keeps a slow registry out of the init phase's 10 s limit (past it Lambda kills the init
# and runs it again inside the invocation).
if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") in _INIT_AHEAD:
    handler.start()
