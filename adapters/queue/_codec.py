"""How a job's payload is stored in procrastinate's ``args``: compact, and with its health data separable.

``args = {"payload": {...}, "transient_data": "<base64 of zlib-compressed JSON>"}``. The keys named
``transient`` (the archival job's ``sahha_data``) go compressed into ``transient_data``: the bulk of a job, and
the part that must not outlive it. A trigger of the ``0005_job_queue`` revision drops ``transient_data`` when a
job ends without success, and successful jobs are deleted, so what remains of a dead job is its metadata.
Read back, ``transient_data`` is ``Sealed``: procrastinate logs a job's arguments, never its health data.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Collection, Mapping
from typing import Any

from sahha_sync.domain.errors import InvalidInputError

PAYLOAD, TRANSIENT = "payload", "transient_data"
_COMPRESSION_LEVEL = 6


def _dumps(job_type: str, value: Mapping[str, Any]) -> str:
    try:
        return json.dumps(value, allow_nan=False, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"the payload of a {job_type} job is not JSON-serialisable ({type(exc).__name__}: {exc})", field="payload"
        ) from exc


def encode_args(job_type: str, payload: Mapping[str, Any], transient: Collection[str]) -> dict[str, Any]:
    """The job's ``args``: ``payload`` copied through JSON, its ``transient`` keys compressed apart."""
    if not isinstance(payload, Mapping):
        raise InvalidInputError(f"the payload of a {job_type} job must be a mapping", field="payload")
    kept = {k: v for k, v in payload.items() if k not in transient}
    args: dict[str, Any] = {PAYLOAD: json.loads(_dumps(job_type, kept))}
    held = {k: v for k, v in payload.items() if k in transient}
    if held:
        packed = zlib.compress(_dumps(job_type, held).encode("utf-8"), _COMPRESSION_LEVEL)
        args[TRANSIENT] = base64.b64encode(packed).decode("ascii")
    return args


class Sealed:
    """A job's compressed health data as read back from the database: it never shows itself in a ``repr``
    or ``str``, so procrastinate's log lines (which quote a job's arguments) carry no health data."""

    __slots__ = ("packed",)

    def __init__(self, packed: str) -> None:
        self.packed = packed

    def __repr__(self) -> str:
        return "<sealed health data>"

    __str__ = __repr__


def loads(text: str | bytes) -> Any:
    """JSON from the database, with a job's ``transient_data`` sealed (procrastinate's ``json_loads``)."""
    value = json.loads(text)
    if isinstance(value, dict) and isinstance(value.get(TRANSIENT), str):
        value[TRANSIENT] = Sealed(value[TRANSIENT])
    return value


def decode_args(args: Mapping[str, Any]) -> dict[str, Any]:
    """The payload ``encode_args`` stored (without its transient keys once they were dropped)."""
    payload = dict(args.get(PAYLOAD) or {})
    packed = args.get(TRANSIENT)
    if isinstance(packed, Sealed):
        packed = packed.packed
    if packed:
        payload.update(json.loads(zlib.decompress(base64.b64decode(packed)).decode("utf-8")))
    return payload
