"""Domain events: what happened to an analysis run, one stream per run (``run-<uuid>``).

Events carry metadata (windows, counts, error kinds), never health values. Each has a dotted wire ``TYPE``
and a schema ``VERSION``; ``encode_event``/``decode_event`` turn them into JSON-ready dicts and back,
upcasting payloads written by older versions with the upcasters each class carries (``event_codec``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from sahha_sync.domain._checks import require_aware, require_text
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.event_codec import EventCodec, Payload
from sahha_sync.domain.health import UpsertCounts


def stream_id_for(run_id: str) -> str:
    return f"run-{run_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainEvent:
    """An event's wire ``TYPE``, its schema ``VERSION`` and how it reads payloads of older versions.

    A class at ``VERSION`` n > 1 carries static methods ``upcast_v1_v2``, ..., ``upcast_v<n-1>_v<n>``, each
    turning a payload of one version into the next one's. ``FORMER_TYPES`` names the wire types the event was
    stored under before, each with the fields that the old type implied (added to its payloads on read).
    """

    TYPE: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1
    FORMER_TYPES: ClassVar[Mapping[str, Payload]] = {}

    run_id: str
    occurred_at: datetime

    def __post_init__(self) -> None:
        require_text(self.run_id, "run_id", where=self.TYPE)
        require_aware(self.occurred_at, "occurred_at", where=self.TYPE)

    @property
    def stream_id(self) -> str:
        return stream_id_for(self.run_id)

    @classmethod
    def upcast(cls, payload: Payload, from_version: int) -> Payload:
        """``payload``, stored at ``from_version``, as this version reads it: through each upcast method in turn."""
        data = dict(payload)
        for version in range(from_version, cls.VERSION):
            step = getattr(cls, f"upcast_v{version}_v{version + 1}", None)
            if step is None:
                raise InvalidInputError(
                    f"no upcaster for {cls.TYPE} from version {version} to {cls.VERSION}", field="schema_version"
                )
            data = step(data)
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalysisRequested(DomainEvent):
    TYPE: ClassVar[str] = "analysis.requested"
    user_id: str
    archetype: str
    analysis_type: str


@dataclass(frozen=True, slots=True, kw_only=True)
class _Fetch(DomainEvent):
    """A fetch of the window ``[window_start, window_end]`` and what it cost at Sahha's API."""

    window_start: datetime
    window_end: datetime
    # what the fetch cost at Sahha's API (0 for a source that does not count it, and for payloads written before)
    api_requests: int = 0
    api_successes: int = 0
    api_failures: int = 0
    api_retries: int = 0
    api_rate_limited: int = 0
    api_token_refreshes: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthDataFetched(_Fetch):
    TYPE: ClassVar[str] = "health_data.fetched"
    biomarker_count: int
    score_count: int
    archetype_count: int = 0
    is_incremental: bool
    watermark: datetime | None
    source: str = "sahha"  # "sahha", or "archive" when Sahha failed and the archive stood in
    with_archetypes: bool = False  # Sahha's archetypes were asked for (False in payloads written before)


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthDataFetchFailed(_Fetch):
    TYPE: ClassVar[str] = "health_data.fetch_failed"
    error_kind: str
    error: str
    fallback_used: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthDataServed(DomainEvent):
    """The run fetched nothing: the user's data was fresh within the bound, so the archive answered, with the
    records of ``shared_with``'s fetch (made in this process, not archived yet) on top when there were any.
    ``fresh_as_of`` is up to when that data was current."""

    TYPE: ClassVar[str] = "health_data.served"
    fresh_as_of: datetime
    shared_with: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UserDataDelivered(DomainEvent):
    """Sahha's webhooks delivered data of ``user_id`` (received at ``delivered_at``) and it is archived.

    One stream per user (``run-delivery-<uuid>``, a random id the user's freshness row keeps); events record
    at most one delivery a minute, so a burst of deliveries writes one."""

    TYPE: ClassVar[str] = "user_data.delivered"
    user_id: str
    delivered_at: datetime

    def __post_init__(self) -> None:
        DomainEvent.__post_init__(self)
        require_text(self.user_id, "user_id", where=self.TYPE)
        require_aware(self.delivered_at, "delivered_at", where=self.TYPE)


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordsQuarantined(DomainEvent):
    TYPE: ClassVar[str] = "records.quarantined"
    count: int
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalysisCompleted(DomainEvent):
    TYPE: ClassVar[str] = "analysis.completed"
    analyst: str
    model: str
    prompt_version: str
    input_hash: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reused: bool = False  # the stored result of an identical input was returned, the analyst was not called


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalysisFailed(DomainEvent):
    TYPE: ClassVar[str] = "analysis.failed"
    analyst: str
    error_kind: str
    error: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ArchivalRequested(DomainEvent):
    TYPE: ClassVar[str] = "archival.requested"
    job_id: str | None
    biomarker_count: int
    score_count: int
    archetype_count: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordsArchived(DomainEvent):
    """Records of one ``kind`` (a ``RecordKind`` name: ``biomarker``, ``score``, ``archetype``) were upserted.

    Each kind had an event type of its own before; stores hold them still, and they read as this one."""

    TYPE: ClassVar[str] = "records.archived"
    FORMER_TYPES: ClassVar[Mapping[str, Payload]] = {
        "biomarkers.archived": {"kind": "biomarker"},
        "scores.archived": {"kind": "score"},
        "archetypes.archived": {"kind": "archetype"},
    }
    kind: str
    inserted: int
    updated: int
    unchanged: int

    def __post_init__(self) -> None:
        DomainEvent.__post_init__(self)
        require_text(self.kind, "kind", where=self.TYPE)

    @classmethod
    def counted(cls, run_id: str, occurred_at: datetime, kind: str, counts: UpsertCounts) -> RecordsArchived:
        """The event of an upsert of ``kind`` records that ``counts`` tells about."""
        return cls(
            run_id=run_id,
            occurred_at=occurred_at,
            kind=kind,
            inserted=counts.inserted,
            updated=counts.updated,
            unchanged=counts.unchanged,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ArchivalFailed(DomainEvent):
    TYPE: ClassVar[str] = "archival.failed"
    attempt: int
    error_kind: str
    error: str
    will_retry: bool
    part: str | None = None  # a record kind's plural ("biomarkers", "scores", ...), or None for the whole job


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncCompleted(DomainEvent):
    TYPE: ClassVar[str] = "sync.completed"


@dataclass(frozen=True, slots=True, kw_only=True)
class UserForgotten(DomainEvent):
    """The tombstone that replaces every event of a forgotten user's run: it keeps no user id (not even a hash),
    no window, no count and no error text — only that the run existed and when it was erased."""

    TYPE: ClassVar[str] = "user.forgotten"


LIBRARY_EVENTS = EventCodec(
    (
        AnalysisRequested,
        HealthDataFetched,
        HealthDataFetchFailed,
        HealthDataServed,
        UserDataDelivered,
        RecordsQuarantined,
        AnalysisCompleted,
        AnalysisFailed,
        ArchivalRequested,
        RecordsArchived,
        ArchivalFailed,
        SyncCompleted,
        UserForgotten,
    )
)
EVENT_TYPES = LIBRARY_EVENTS.types


def encode_event(event: DomainEvent) -> tuple[str, int, Payload]:
    """``(type, schema_version, payload)`` with a JSON-ready payload."""
    return LIBRARY_EVENTS.encode(event)


def decode_event(event_type: str, schema_version: int, payload: Payload) -> DomainEvent:
    """The library event a stored record stands for, upcast to the current version of its class."""
    return LIBRARY_EVENTS.decode(event_type, schema_version, payload)
