"""The small piece of ASGI the emulator needs: a parsed request and a JSON/empty response."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    segments: tuple[str, ...]  # the path split on "/" and each part percent-decoded (so "%2F" stays in one part)
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None


@dataclass(slots=True)
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        content = json.dumps(payload, separators=(",", ":")).encode()
        return cls(status, content, {"content-type": "application/json; charset=utf-8", **(headers or {})})


async def read_request(scope: Scope, receive: Receive) -> Request:
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
    raw_path = raw_path.split(b"?", 1)[0]
    segments = tuple(unquote(part.decode("latin-1"), encoding="utf-8") for part in raw_path.split(b"/") if part)
    query: dict[str, list[str]] = {}
    # parse_qsl turns a literal "+" into a space, as Sahha's server does: offsets must be sent as %2B.
    for key, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True):
        query.setdefault(key, []).append(value)
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    body = b""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    return Request(scope["method"], segments, query, headers, body)


async def send_response(send: Send, response: Response) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]
    headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body, "more_body": False})
