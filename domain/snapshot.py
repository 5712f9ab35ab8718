"""What one fetch brought back (``HealthSnapshot``) and how fresh and archived data are merged."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any, TypeVar

from sahha_sync.domain._checks import require_aware, require_optional_aware
from sahha_sync.domain.health import Archetype, Biomarker, HealthRecords, QuarantinedRecord, Score
from sahha_sync.domain.windows import FetchWindow

R = TypeVar("R")


def merge_by_key(archived: Iterable[R], fresh: Iterable[R], key: Callable[[R], Hashable] | None = None) -> list[R]:
    """Records of both inputs, one per natural key; a fresh record replaces an archived one of the same key.

    Order: archived records first (in their order), then fresh records with new keys. Within ``fresh`` the
    last record of a key wins. Idempotent: ``merge_by_key(merge_by_key(a, f), f) == merge_by_key(a, f)``.
    """
    key_of: Callable[[R], Hashable] = key if key is not None else attrgetter("key")
    merged: dict[Hashable, R] = {}
    for record in archived:
        merged[key_of(record)] = record
    for record in fresh:
        merged[key_of(record)] = record
    return list(merged.values())


def dedupe_by_key(records: Iterable[R], key: Callable[[R], Hashable] | None = None) -> list[R]:
    """One record per natural key, the last one winning (a batch ready for a single upsert statement)."""
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
        watermark = data.get("watermark")
        return cls(
            biomarkers=tuple(Biomarker.from_dict(b) for b in data.get("biomarkers") or ()),
            scores=tuple(Score.from_dict(s) for s in data.get("scores") or ()),
            archetypes=tuple(Archetype.from_dict(a) for a in data.get("archetypes") or ()),
            fetched_at=datetime.fromisoformat(data["fetched_at"]),
            window=FetchWindow.from_dict(data["window"]),
            is_incremental=bool(data["is_incremental"]),
            watermark=None if watermark is None else datetime.fromisoformat(watermark),
        )
