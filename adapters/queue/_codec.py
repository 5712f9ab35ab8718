"""How a job's payload is stored in procrastinate's ``args``: compact, and with its health data separable.

``args = {"payload": {...}, "transient_data": "<base64 of zlib-compressed JSON>"}``. The keys named
``transient`` (the archival job's ``sahha_data``) go compressed into ``transient_data``: the bulk of a job, and
the part that must not outlive it. A trigger of the ``0005_job_queue`` revision drops ``transient_data`` when a
job ends without success, and successful jobs are deleted, so what remains of a dead job is its metadata.
Read back, ``transient_data`` is ``Sealed``: procrastinate logs a job's arguments, never its health data.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from sahha_sync.adapters._json import check_storable, dumps_payload, require_mapping

PAYLOAD, TRANSIENT = "payload", "transient_data"
# Level 1 compresses a day of health data ~8x at a third of level 6's cost; the rows live only until the job ends.
_COMPRESSION_LEVEL = 1


@dataclass(frozen=True, slots=True)
class FrozenArgs:
    """A job's payload as JSON at the moment it was submitted: ``kept`` without its transient keys, ``held``
    those keys (``None`` when there are none). The compression waits for the writer."""

    kept: bytes
    held: bytes | None


def freeze(job_type: str, payload: Mapping[str, Any], transient: Collection[str]) -> FrozenArgs:
    """``payload`` copied to JSON (``dumps_payload``), its ``transient`` keys apart; changing ``payload``
    afterwards changes no job."""
    require_mapping(job_type, payload)
    kept = {k: v for k, v in payload.items() if k not in transient}
    held = {k: v for k, v in payload.items() if k in transient}
    # the kept part goes into a jsonb column as it is; the held part goes compressed, so it may hold anything
    kept_json = check_storable(job_type, dumps_payload(job_type, kept))
    return FrozenArgs(kept_json, dumps_payload(job_type, held) if held else None)


def args_json(frozen: FrozenArgs) -> str:
    """The job's ``args`` as the JSON text of procrastinate's ``args`` column: ``{"payload": ..., "transient_data":
    "<base64 of zlib-compressed JSON>"}``."""
    parts = [b'{"payload":', frozen.kept]
    if frozen.held is not None:
        packed = base64.b64encode(zlib.compress(frozen.held, _COMPRESSION_LEVEL))
        parts += [b',"transient_data":"', packed, b'"']
    parts.append(b"}")
    return b"".join(parts).decode("utf-8")


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
    value = orjson.loads(text)
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
        payload.update(orjson.loads(zlib.decompress(base64.b64decode(packed))))
    return payload
