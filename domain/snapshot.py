"""What one fetch brought back (``HealthSnapshot``) and how fresh and archived data are merged."""

from __future__ import annotations

from collections.abc import Callable, Generator, Hashable, Iterable, Mapping
from dataclasses import Field, dataclass, replace
from datetime import datetime
from itertools import chain
from operator import attrgetter
from typing import Any, ClassVar, Protocol, TypeVar

from sahha_sync.domain._checks import require_aware, require_optional_aware
from sahha_sync.domain.health import Archetype, Biomarker, HealthRecords, QuarantinedRecord, Score
from sahha_sync.domain.windows import FetchWindow


class Observed(Protocol):
    """A record that says how new its version is (every kind of health record: a dataclass)."""

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    @property
    def observed_at(self) -> datetime | None: ...


R = TypeVar("R", bound=Observed)


def newer_or_same(candidate: Observed, stored: Observed) -> bool:
    """Whether ``candidate`` may replace ``stored``, a record of the same key: its version is at least as new
    (``observed_at``). A record whose ``observed_at`` is unknown (None) counts as observed now, so it is newer
    than any record whose time is known, and no record with a known time replaces it."""
    if candidate.observed_at is None:
        return True
    return stored.observed_at is not None and candidate.observed_at >= stored.observed_at


def observed_by_default(record: R, at: datetime) -> R:
    """``record``, observed ``at`` when nobody knows when it was (its ``observed_at`` is None)."""
    return record if record.observed_at is not None else replace(record, observed_at=at)


def merge_by_key(archived: Iterable[R], fresh: Iterable[R], key: Callable[[R], Hashable] | None = None) -> list[R]:
    """Records of both inputs, one per natural key: the newest (``newer_or_same``), and of equally new ones the
    fresh one over the archived one, and the later one in either input.

    Order: archived records first (in their order), then fresh records with new keys. Idempotent:
    ``merge_by_key(merge_by_key(a, f), f) == merge_by_key(a, f)``.
    """
    merged: dict[Hashable, R] = {}
    merge_into(merged, chain(archived, fresh), key)
    return list(merged.values())


def merge_into(merged: dict[Hashable, R], records: Iterable[R], key: Callable[[R], Hashable] | None = None) -> None:
    """Fold ``records`` into ``merged`` (records by natural key): a record replaces the one kept under its key when
    it is ``newer_or_same``. ``merge_by_key`` in steps: folding its inputs in turn gives its result."""
    key_of: Callable[[R], Hashable] = key if key is not None else attrgetter("key")
    for record in records:
        k = key_of(record)
        kept = merged.get(k)
        if kept is None or newer_or_same(record, kept):
            merged[k] = record


def dedupe_by_key(records: Iterable[R], key: Callable[[R], Hashable] | None = None) -> list[R]:
    """One record per natural key, the newest (``newer_or_same``), of equally new ones the last: a batch ready
    for a single upsert statement."""
    return merge_by_key((), records, key)


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthSnapshot:
    """The data one fetch returned, with the window it covered. ``to_dict`` is the seed's return shape."""

    biomarkers: tuple[Biomarker, ...]
    scores: tuple[Score, ...]
    fetched_at: datetime
    window: FetchWindow
    is_incremental: bool
    watermark: datetime | None
    archetypes: tuple[Archetype, ...] = ()
    quarantined: tuple[QuarantinedRecord, ...] = ()

    def __post_init__(self) -> None:
        require_aware(self.fetched_at, "fetched_at", where="health snapshot")
        require_optional_aware(self.watermark, "watermark", where="health snapshot")
        for name in ("biomarkers", "scores", "archetypes", "quarantined"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    @classmethod
    def from_records(
        cls,
        records: HealthRecords,
        *,
        fetched_at: datetime,
        window: FetchWindow,
        is_incremental: bool,
        watermark: datetime | None,
    ) -> HealthSnapshot:
        return cls(
            biomarkers=records.biomarkers,
            scores=records.scores,
            archetypes=records.archetypes,
            quarantined=records.quarantined,
            fetched_at=fetched_at,
            window=window,
            is_incremental=is_incremental,
            watermark=watermark,
        )

    @property
    def records(self) -> HealthRecords:
        return HealthRecords(self.biomarkers, self.scores, self.archetypes, self.quarantined)

    @property
    def total_items(self) -> int:
        return len(self.biomarkers) + len(self.scores) + len(self.archetypes)

    def to_dict(self) -> dict[str, Any]:
        """Exactly the seed's shape: biomarkers, scores, fetched_at, is_incremental, watermark, total_items."""
        return {
            "biomarkers": [b.to_dict() for b in self.biomarkers],
            "scores": [s.to_dict() for s in self.scores],
            "fetched_at": self.fetched_at.isoformat(),
            "is_incremental": self.is_incremental,
            "watermark": None if self.watermark is None else self.watermark.isoformat(),
            "total_items": self.total_items,
        }

    def to_payload(self) -> dict[str, Any]:
        """A JSON-ready form that ``from_payload`` reads back whole (the archival job's ``sahha_data``)."""
        payload = self.to_dict()
        payload["window"] = self.window.to_dict()
        payload["archetypes"] = [a.to_dict() for a in self.archetypes]
        return payload

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> HealthSnapshot:
        """The snapshot of ``to_payload()`` (or of the seed's ``to_dict()`` with a window); a record that does not
        say when it was observed (written before records said it) was observed when the snapshot was fetched."""
        return finished(cls.payload_steps(data))

    @classmethod
    def payload_steps(cls, data: dict[str, Any]) -> Generator[None, None, HealthSnapshot]:
        """``from_payload`` as a generator that pauses (yields None) after every ``DECODE_STEP_RECORDS`` records
        and returns the snapshot: a caller on an event loop lets others run at the pauses."""
        watermark = data.get("watermark")
        fetched_at = datetime.fromisoformat(data["fetched_at"])
        biomarkers = yield from _records_in_steps(Biomarker, data.get("biomarkers"), fetched_at)
        scores = yield from _records_in_steps(Score, data.get("scores"), fetched_at)
        archetypes = yield from _records_in_steps(Archetype, data.get("archetypes"), fetched_at)
        return cls(
            biomarkers=biomarkers,
            scores=scores,
            archetypes=archetypes,
            fetched_at=fetched_at,
            window=FetchWindow.from_dict(data["window"]),
            is_incremental=bool(data["is_incremental"]),
            watermark=None if watermark is None else datetime.fromisoformat(watermark),
        )


T = TypeVar("T")
DECODE_STEP_RECORDS = 64  # records a payload's decoding reads between two pauses (~0.3 ms)


def finished(steps: Generator[None, None, T]) -> T:
    """What the generator ``steps`` returns, run to its end without pausing."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            result: T = done.value
            return result


S = TypeVar("S", Biomarker, Score, Archetype)


def _records_in_steps(
    record_type: type[S], items: Iterable[Mapping[str, Any]] | None, at: datetime
) -> Generator[None, None, tuple[S, ...]]:
    """``_records_of``, pausing after every ``DECODE_STEP_RECORDS`` records."""
    listed = list(items or ())
    if len(listed) <= DECODE_STEP_RECORDS:
        return _records_of(record_type, listed, at)
    records: list[S] = []
    for start in range(0, len(listed), DECODE_STEP_RECORDS):
        records += _records_of(record_type, listed[start : start + DECODE_STEP_RECORDS], at)
        yield
    return tuple(records)


def _records_of(record_type: type[S], items: Iterable[Mapping[str, Any]] | None, at: datetime) -> tuple[S, ...]:
    """The records of a payload's list, each built once: one that does not say when it was observed as observed
    ``at`` (what ``observed_by_default`` makes of it, without building it twice)."""
    from_dict = record_type.from_dict
    return tuple(
        from_dict(item if item.get("observed_at") is not None else {**item, "observed_at": at}) for item in items or ()
    )
