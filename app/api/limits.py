"""Request-size guards: headers, and the body before it is read into memory."""

from __future__ import annotations

import contextlib
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLargeError(Exception):
    pass


# Far above any real request (a bearer token is 1-3 KB), far below what hurts: a server that
# takes headers of any size keeps every one of them in memory for the request's life.
MAX_HEADER_BYTES = 32 * 1024


class HeaderSizeLimit:
    """Answer 431 to a request whose headers add up to more than ``max_bytes``."""

    def __init__(self, app: ASGIApp, *, max_bytes: int = MAX_HEADER_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            size = sum(len(name) + len(value) + 4 for name, value in scope["headers"])
            if size > self.max_bytes:
                message = f"The request headers are over the {self.max_bytes}-byte limit."
                await _send_error(send, 431, "headers_too_large", message)
                return
        await self.app(scope, receive, send)


class BodySizeLimit:
    """Reject bodies over ``max_bytes`` with 413: by ``Content-Length`` up front,
    and by counting for chunked uploads that do not declare one."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._reject(send)
            return
        seen = 0
        exceeded = False
        started = False

        async def counting_receive() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    exceeded = True
                    raise BodyTooLargeError
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                # A body parser that caught the limit answers 400 ("cannot parse"); the
                # caller is owed the 413 instead, and the app's own answer is dropped.
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await self._reject(send)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        with contextlib.suppress(BodyTooLargeError):
            await self.app(scope, counting_receive, tracking_send)
        if exceeded and not started:
            await self._reject(send)

    async def _reject(self, send: Send) -> None:
        message = f"The request body is over the {self.max_bytes}-byte limit."
        await _send_error(send, 413, "payload_too_large", message)


async def _send_error(send: Send, status: int, code: str, message: str) -> None:
    """The app's error shape, sent before the app (and its handlers) saw the request."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
