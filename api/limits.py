"""Request body size limit (ASGI middleware): 413 before an oversized upload is read.

A declared ``Content-Length`` above the limit is refused at once; a body without one (chunked)
is counted as it streams and refused when it passes the limit.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """Raised while a streamed body is read; an HTTPException so that FastAPI's body parsing
    passes it on (it turns other exceptions into 400) and the handler answers 413."""

    def __init__(self, detail: str) -> None:
        super().__init__(413, detail)


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _detail(self) -> str:
        mb = self.max_bytes / (1024 * 1024)
        return (f"request body larger than {mb:g} MB (CELLTWIN_MAX_UPLOAD_MB); send a smaller "
                "file")

    def _body(self) -> bytes:
        return json.dumps({"detail": self._detail()}).encode()

    async def _refuse(self, send: Send) -> None:
        body = self._body()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._refuse(send)
                    return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self._detail())
            return msg

        async def tracking_send(msg: Message) -> None:
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send)
