"""One record that Sahha pushed, and the ``INGEST_SAHHA_WEBHOOK`` job payloads that carry it.

A job payload always names the record by its key, and carries the record itself in one of two places::

    {"kind": "biomarker" | "score" | "archetype", "user_id": ..., "received_at": ISO-8601,
     "key": {"type": ..., "start": ISO-8601, "end": ISO-8601},     # the record's type (archetype: name) and span
     "sahha_data": <record>.to_dict()}                            # on the durable queue
     "inbox_id": "17"}                                            # or: the record waits in the webhook inbox

``sahha_data`` is one of the durable queue's transient keys: stored compressed and dropped when the job dies,
so a dead letter keeps the key and never the values (``retry_dead`` then fetches the record again). The
older form ``{"kind", "record", "received_at"}`` is still read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sahha_sync.application.ports.job_queue import USER_KEY
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.record_kinds import HealthRecord, RecordKind, kind_named, kind_of

WebhookRecord = HealthRecord
INGEST_WEBHOOK_JOB = "INGEST_SAHHA_WEBHOOK"
STREAM_SHARDS = 16
DATA_KEY = "sahha_data"


def webhook_run_id(day: date, shard: int) -> str:
    """The run id of one of the day's webhook streams (its stream id is ``stream_id_for`` of it)."""
    return f"webhook-{day.isoformat()}-{shard:02d}"


def sharded_run_id(received_at: datetime, digest: str) -> str:
    """The day's webhook stream for a delivery received at ``received_at`` whose content hashes to ``digest``."""
    return webhook_run_id(received_at.astimezone(UTC).date(), int(digest[-4:], 16) % STREAM_SHARDS)


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordKey:
    """What names a record without its values: kind, user, type (an archetype's name) and span."""

    kind: str
    user_id: str
    type: str
    start: datetime
    end: datetime

    @classmethod
    def of(cls, record: WebhookRecord) -> RecordKey:
        name = str(record.key[1])  # every kind's natural key is (user, type or name, ...)
        start, end = record.period
        return cls(kind=kind_of(record).name, user_id=record.user_id, type=name, start=start, end=end)

    def matches(self, record: WebhookRecord) -> bool:
        return RecordKey.of(record) == self


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookDelivery:
    """One record that Sahha pushed, and when it was received."""

    record: WebhookRecord
    received_at: datetime

    @property
    def kind(self) -> str:
        return kind_of(self.record).name

    @property
    def user_id(self) -> str:
        return self.record.user_id

    @property
    def key(self) -> RecordKey:
        return RecordKey.of(self.record)

    @property
    def dedup_key(self) -> str:
        """Equal deliveries (same record, same values) share a key: a burst of redeliveries queues one job."""
        canonical = json.dumps([self.kind, self.record.to_dict()], sort_keys=True, separators=(",", ":"))
        return "webhook:" + hashlib.sha256(canonical.encode()).hexdigest()

    @property
    def run_id(self) -> str:
        """The webhook stream this delivery's event goes to: its UTC day, and a shard picked by its content."""
        return sharded_run_id(self.received_at, self.dedup_key)

    def to_payload(self) -> dict[str, Any]:
        """The job payload that carries the record (``sahha_data``)."""
        return {**_key_payload(self.key, self.received_at), DATA_KEY: self.record.to_dict()}

    def inbox_payload(self, entry_id: str) -> dict[str, Any]:
        """The job payload that names the inbox entry holding the record (no values)."""
        return {**_key_payload(self.key, self.received_at), "inbox_id": entry_id}

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> WebhookDelivery:
        """The delivery a payload carries; ``InvalidInputError`` naming the field when it is malformed or holds
        no record."""
        job = WebhookJob.from_payload(payload)
        if job.delivery is None:
            raise InvalidInputError(f"the payload holds no {job.key.kind} record", field=DATA_KEY)
        return job.delivery


def _key_payload(key: RecordKey, received_at: datetime) -> dict[str, Any]:
    return {
        "kind": key.kind,
        USER_KEY: key.user_id,
        "key": {"type": key.type, "start": key.start.isoformat(), "end": key.end.isoformat()},
        "received_at": received_at.isoformat(),
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookJob:
    """An ``INGEST_SAHHA_WEBHOOK`` payload, read: the record's key, and the delivery itself (when the payload
    carries it) or the inbox entry that holds it. Neither: a dead letter retried, whose record must be fetched."""

    key: RecordKey
    received_at: datetime
    delivery: WebhookDelivery | None = None
    inbox_id: str | None = None

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> WebhookJob:
        if not isinstance(payload, Mapping):
            raise InvalidInputError("webhook payload must be a mapping", field="payload")
        kind = kind_named(payload.get("kind"))
        received_at = _aware(payload.get("received_at"), "received_at")
        field = DATA_KEY if DATA_KEY in payload or "record" not in payload else "record"
        data = payload.get(field)
        inbox_id = payload.get("inbox_id")
        if data is None:
            key = _key_of(kind.name, payload)
            return cls(key=key, received_at=received_at, inbox_id=inbox_id if isinstance(inbox_id, str) else None)
        record = _record(kind, data, field)
        if payload.get(USER_KEY, record.user_id) != record.user_id:
            raise InvalidInputError(f"{USER_KEY} and the record name different users", field=USER_KEY)
        delivery = WebhookDelivery(record=record, received_at=received_at)
        return cls(key=delivery.key, received_at=received_at, delivery=delivery)


def _record(kind: RecordKind[Any], data: object, field: str) -> WebhookRecord:
    if not isinstance(data, Mapping):
        raise InvalidInputError(f"{field} must be a mapping", field=field)
    try:
        record: WebhookRecord = kind.record_type.from_dict(dict(data))
    except InvalidInputError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        name = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else "bad field"
        raise InvalidInputError(f"{field} is not a {kind.name} ({type(exc).__name__}: {name})", field=field) from exc
    return record


def _key_of(kind: str, payload: Mapping[str, Any]) -> RecordKey:
    key, user_id = payload.get("key"), payload.get(USER_KEY)
    if not isinstance(user_id, str) or not user_id or not isinstance(key, Mapping):
        raise InvalidInputError(f"the payload holds no {kind} record and no key to find it by", field=DATA_KEY)
    name = key.get("type")
    if not isinstance(name, str) or not name:
        raise InvalidInputError("key.type must be a non-empty string", field="key")
    return RecordKey(
        kind=kind, user_id=user_id, type=name, start=_aware(key.get("start"), "key"), end=_aware(key.get("end"), "key")
    )


def _aware(value: object, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.utcoffset() is None:
        raise InvalidInputError(f"{field} must be a timezone-aware ISO-8601 datetime", field=field)
    return moment
