"""The few pieces of ASGI the receiver needs: types, headers, a bounded body read, a JSON answer."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sahha_sync.adapters._asgi import Receive, Send


class Rejected(Exception):
    """End the request with ``status``; ``reason`` is the counter's key, ``detail`` a line for the sender."""

    def __init__(self, status: int, reason: str, detail: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.detail = detail


class Disconnected(Exception):
    """The client went away before the body arrived; nothing is answered."""


class Headers:
    """Request headers by lower-case name; ``get`` gives the first value, ``all`` every value."""

    def __init__(self, raw: Iterable[tuple[bytes, bytes]]) -> None:
        self._raw = [(name.lower(), value) for name, value in raw]

    def all(self, *names: bytes) -> list[bytes]:
        return [value for name, value in self._raw if name in names]

    def get(self, name: bytes) -> str | None:
        values = self.all(name)
        return values[0].decode("latin-1").strip() if values else None


def declared_length(headers: Headers) -> int | None:
    """The ``Content-Length`` the client declared, or None; a malformed one is rejected with 400."""
    value = headers.get(b"content-length")
    if value is None:
        return None
    if not value.isdigit():
        raise Rejected(400, "invalid_content_length", "Content-Length is not a non-negative integer")
    return int(value)


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body; stops reading and rejects with 413 as soon as it grows past ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Rejected(413, "body_too_large", f"the body is larger than {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def respond(
    send: Send, status: int, content: dict[str, Any], headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    data = json.dumps(content, separators=(",", ":")).encode("utf-8")
    start_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode("ascii")),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": start_headers})
    await send({"type": "http.response.body", "body": data})
