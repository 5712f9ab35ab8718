"""Domain events: what happened to an analysis run, one stream per run (``run-<uuid>``).

Events carry metadata (windows, counts, error kinds), never health values. Each has a dotted wire ``TYPE``
and a schema ``VERSION``; ``encode_event``/``decode_event`` turn them into JSON-ready dicts and back,
upcasting payloads written by older versions (register an upcaster with ``upcaster``).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from sahha_sync.domain._checks import require_aware, require_text
from sahha_sync.domain.errors import InvalidInputError


def stream_id_for(run_id: str) -> str:
    return f"run-{run_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainEvent:
    TYPE: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1

    run_id: str
    occurred_at: datetime

    def __post_init__(self) -> None:
        require_text(self.run_id, "run_id", where=self.TYPE)
        require_aware(self.occurred_at, "occurred_at", where=self.TYPE)

    @property
    def stream_id(self) -> str:
        return stream_id_for(self.run_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalysisRequested(DomainEvent):
    TYPE: ClassVar[str] = "analysis.requested"
    user_id: str
    archetype: str
    analysis_type: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthDataFetched(DomainEvent):
    TYPE: ClassVar[str] = "health_data.fetched"
    window_start: datetime
    window_end: datetime
    biomarker_count: int
    score_count: int
    archetype_count: int = 0
    is_incremental: bool
    watermark: datetime | None
    source: str = "sahha"  # "sahha", or "archive" when Sahha failed and the archive stood in
    # what the fetch cost at Sahha's API (0 for a source that does not count it, and for payloads written before)
    api_requests: int = 0
    api_successes: int = 0
    api_failures: int = 0
    api_retries: int = 0
    api_rate_limited: int = 0
    api_token_refreshes: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthDataFetchFailed(DomainEvent):
    TYPE: ClassVar[str] = "health_data.fetch_failed"
    window_start: datetime
    window_end: datetime
    error_kind: str
    error: str
    fallback_used: bool
    # what the fetch cost at Sahha's API (0 for a source that does not count it, and for payloads written before)
    api_requests: int = 0
    api_successes: int = 0
    api_failures: int = 0
    api_retries: int = 0
    api_rate_limited: int = 0
    api_token_refreshes: int = 0


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
class BiomarkersArchived(DomainEvent):
    TYPE: ClassVar[str] = "biomarkers.archived"
    inserted: int
    updated: int
    unchanged: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoresArchived(DomainEvent):
    TYPE: ClassVar[str] = "scores.archived"
    inserted: int
    updated: int
    unchanged: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ArchetypesArchived(DomainEvent):
    TYPE: ClassVar[str] = "archetypes.archived"
    inserted: int
    updated: int
    unchanged: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ArchivalFailed(DomainEvent):
    TYPE: ClassVar[str] = "archival.failed"
    attempt: int
    error_kind: str
    error: str
    will_retry: bool
    part: str | None = None  # "biomarkers", "scores", "archetypes", or None for the whole job


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncCompleted(DomainEvent):
    TYPE: ClassVar[str] = "sync.completed"


@dataclass(frozen=True, slots=True, kw_only=True)
class UserForgotten(DomainEvent):
    """The tombstone that replaces every event of a forgotten user's run: it keeps no user id (not even a hash),
    no window, no count and no error text — only that the run existed and when it was erased."""

    TYPE: ClassVar[str] = "user.forgotten"


EVENT_TYPES: dict[str, type[DomainEvent]] = {
    cls.TYPE: cls
    for cls in (
        AnalysisRequested,
        HealthDataFetched,
        HealthDataFetchFailed,
        RecordsQuarantined,
        AnalysisCompleted,
        AnalysisFailed,
        ArchivalRequested,
        BiomarkersArchived,
        ScoresArchived,
        ArchetypesArchived,
        ArchivalFailed,
        SyncCompleted,
        UserForgotten,
    )
}

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]
_UPCASTERS: dict[tuple[str, int], Upcaster] = {}
E = TypeVar("E", bound=DomainEvent)


def register_event_type(cls: type[E]) -> type[E]:
    """Add an event class to the codec (for events defined outside this module)."""
    EVENT_TYPES[cls.TYPE] = cls
    return cls


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register a function that turns a ``from_version`` payload of ``event_type`` into the next version's."""

    def register(func: Upcaster) -> Upcaster:
        _UPCASTERS[(event_type, from_version)] = func
        return func

    return register


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_encode_value(v) for v in value]
    return value


def encode_event(event: DomainEvent) -> tuple[str, int, Payload]:
    """``(type, schema_version, payload)`` with a JSON-ready payload."""
    payload = {f.name: _encode_value(getattr(event, f.name)) for f in dataclasses.fields(event)}
    return event.TYPE, event.VERSION, payload


def _is_datetime_hint(hint: Any) -> bool:
    if hint is datetime:
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return datetime in typing.get_args(hint)
    return False


_FIELDS: dict[type[DomainEvent], tuple[tuple[str, bool], ...]] = {}


def _fields_of(cls: type[DomainEvent]) -> tuple[tuple[str, bool], ...]:
    """Each field's name and whether it holds a datetime (resolving the hints took a third of a decode)."""
    fields = _FIELDS.get(cls)
    if fields is None:
        hints = typing.get_type_hints(cls)
        fields = _FIELDS[cls] = tuple((f.name, _is_datetime_hint(hints[f.name])) for f in dataclasses.fields(cls))
    return fields


def decode_event(event_type: str, schema_version: int, payload: Payload) -> DomainEvent:
    """The event a stored record stands for, upcast to the current version of its class."""
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        raise InvalidInputError(f"unknown event type {event_type!r}", field="type")
    data = dict(payload)
    version = schema_version
    while version < cls.VERSION:
        step = _UPCASTERS.get((event_type, version))
        if step is None:
            raise InvalidInputError(
                f"no upcaster for {event_type} from version {version} to {cls.VERSION}",
                field="schema_version",
            )
        data = step(data)
        version += 1
    if version > cls.VERSION:
        raise InvalidInputError(
            f"{event_type} version {version} is newer than this library knows ({cls.VERSION})",
            field="schema_version",
        )
    kwargs: dict[str, Any] = {}
    for name, is_datetime in _fields_of(cls):
        if name not in data:
            continue
        value = data[name]
        if value is not None and is_datetime:
            value = datetime.fromisoformat(value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[name] = value
    return cls(**kwargs)
