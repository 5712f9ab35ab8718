"""The ``SYNC_SAHHA_DATA`` job's payload: which run to archive and, usually, the data it fetched.

Shape (JSON-ready)::

    {"run_id", "user_id", "archetype", "analysis_type", "tracking_record_id",
     "window": {"start", "end"}, "sahha_data": HealthSnapshot.to_payload()}   # sahha_data may be absent

``user_id`` is the one key under which a job names its user (``USER_KEY``: a forgotten user's jobs are purged
by it). A job without ``sahha_data`` (one re-submitted from the event store after a restart) fetches the run's
window again from the source. Records in ``sahha_data`` queued by earlier versions name their user
``profile_id``; they decode as well.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from sahha_sync.application.ports.job_queue import USER_KEY
from sahha_sync.application.use_cases._support import require_text
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.snapshot import HealthSnapshot, finished
from sahha_sync.domain.tracking import TrackingRecord
from sahha_sync.domain.windows import FetchWindow


@dataclass(frozen=True, slots=True, kw_only=True)
class ArchivalJob:
    JOB_TYPE: ClassVar[str] = "SYNC_SAHHA_DATA"

    run_id: str
    user_id: str
    archetype: str
    analysis_type: str
    window: FetchWindow
    tracking_record_id: int | None = None
    snapshot: HealthSnapshot | None = None

    @property
    def dedup_key(self) -> str:
        """At most one pending archival job per run."""
        return f"run:{self.run_id}"

    @classmethod
    def for_run(cls, record: TrackingRecord, snapshot: HealthSnapshot | None = None) -> ArchivalJob:
        """The job that archives ``record``'s run (without ``snapshot``, the job fetches the window again)."""
        if record.window is None:
            raise InvalidInputError(f"run {record.run_id} has no fetch window to archive", field="window")
        return cls(
            run_id=record.run_id,
            user_id=record.user_id,
            archetype=record.archetype,
            analysis_type=record.analysis_type,
            window=record.window,
            tracking_record_id=record.id,
            snapshot=snapshot,
        )

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "run_id": self.run_id,
            USER_KEY: self.user_id,
            "archetype": self.archetype,
            "analysis_type": self.analysis_type,
            "tracking_record_id": self.tracking_record_id,
            "window": self.window.to_dict(),
        }
        if self.snapshot is not None:
            payload["sahha_data"] = self.snapshot.to_payload()
        return payload

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> ArchivalJob:
        """The job a payload describes; ``InvalidInputError`` naming the field when it is malformed."""
        return finished(cls.payload_steps(payload))

    @classmethod
    def payload_steps(cls, payload: Mapping[str, Any]) -> Generator[None, None, ArchivalJob]:
        """``from_payload`` as a generator pausing while the records are decoded (``HealthSnapshot.payload_steps``):
        ``Turns.run`` decodes a payload without holding the event loop."""
        if not isinstance(payload, Mapping):
            raise InvalidInputError("archival payload must be a mapping", field="payload")
        tracking_id = payload.get("tracking_record_id")
        if tracking_id is not None and (isinstance(tracking_id, bool) or not isinstance(tracking_id, int)):
            raise InvalidInputError("tracking_record_id must be an integer", field="tracking_record_id")
        run_id = require_text(payload.get("run_id"), "run_id")
        user_id = require_text(payload.get(USER_KEY), USER_KEY)
        archetype = require_text(payload.get("archetype"), "archetype")
        analysis_type = require_text(payload.get("analysis_type"), "analysis_type")
        window = _parse_window(payload.get("window"))
        snapshot = yield from snapshot_steps(payload.get("sahha_data"))
        return cls(
            run_id=run_id,
            user_id=user_id,
            archetype=archetype,
            analysis_type=analysis_type,
            tracking_record_id=tracking_id,
            window=window,
            snapshot=snapshot,
        )


def _parse_window(data: object) -> FetchWindow:
    try:
        if not isinstance(data, Mapping):
            raise TypeError("not a mapping")
        return FetchWindow.from_dict(dict(data))
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInputError("window must be {'start', 'end'} ISO-8601 datetimes", field="window") from exc


def parse_snapshot(data: object) -> HealthSnapshot | None:
    """``HealthSnapshot.from_payload(data)`` (None for None); ``InvalidInputError`` on ``sahha_data`` otherwise."""
    return finished(snapshot_steps(data))


def snapshot_steps(data: object) -> Generator[None, None, HealthSnapshot | None]:
    """``parse_snapshot`` as a generator pausing while the records are decoded."""
    if data is None:
        return None
    try:
        if not isinstance(data, Mapping):
            raise TypeError("not a mapping")
        return (yield from HealthSnapshot.payload_steps(dict(data)))
    except InvalidInputError as exc:
        raise InvalidInputError(f"sahha_data is malformed: {exc}", field="sahha_data") from exc
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidInputError(
            f"sahha_data is malformed ({type(exc).__name__}); expected HealthSnapshot.to_payload()", field="sahha_data"
        ) from exc
