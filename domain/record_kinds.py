"""The kinds of health record sahha-sync archives, as data: one ``RecordKind`` each, all in ``RECORD_KINDS``.

A kind has a name (``biomarker``) and a plural (``biomarkers``: its field of ``HealthRecords``, its table, the
part of an archival job, the seed's sync flag ``biomarkers_synced``), and the domain class of its records. The
registry drives what is done per kind: the archived event (``RecordsArchived.kind``), the sync flags of
``SyncStatus``, the archive adapters' upserts and reads, and the SQL tables.

Adding a kind: its record class (``HealthRecord``'s members), a field of ``HealthRecords`` named by its plural,
an entry here; then its table and row mapping in ``adapters/sql`` (``tables.py``, ``_records.py``) and a
migration. The in-memory archive, the archival job, the events and the projections need nothing more.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, Self, TypeVar

from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.health import Archetype, Biomarker, HealthRecords, Score


class HealthRecord(Protocol):
    """What every kind of record offers: the host's user, a natural key, the span it describes, how new it is."""

    @property
    def user_id(self) -> str: ...

    @property
    def key(self) -> tuple[Hashable, ...]: ...

    @property
    def period(self) -> tuple[datetime, datetime]: ...

    @property
    def created_at_utc(self) -> datetime | None: ...

    def to_dict(self) -> dict[str, Any]: ...

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self: ...


R = TypeVar("R", bound=HealthRecord)


@dataclass(frozen=True, slots=True)
class RecordKind(Generic[R]):
    """One kind of record: ``name`` (``biomarker``), ``plural`` (``biomarkers``) and its ``record_type``."""

    name: str
    plural: str
    record_type: type[R]

    @property
    def sync_flag(self) -> str:
        """The seed's name of the flag that says a run's records of this kind are archived."""
        return f"{self.plural}_synced"

    def records_in(self, records: HealthRecords) -> tuple[R, ...]:
        """This kind's records among ``records``."""
        found: tuple[R, ...] = getattr(records, self.plural)
        return found


BIOMARKER: RecordKind[Biomarker] = RecordKind("biomarker", "biomarkers", Biomarker)
SCORE: RecordKind[Score] = RecordKind("score", "scores", Score)
ARCHETYPE: RecordKind[Archetype] = RecordKind("archetype", "archetypes", Archetype)
RECORD_KINDS: tuple[RecordKind[Any], ...] = (BIOMARKER, SCORE, ARCHETYPE)

_BY_NAME: dict[str, RecordKind[Any]] = {kind.name: kind for kind in RECORD_KINDS}


def kind_named(name: object) -> RecordKind[Any]:
    """The kind whose ``name`` is ``name``; ``InvalidInputError`` for anything else."""
    kind = _BY_NAME.get(name) if isinstance(name, str) else None
    if kind is None:
        raise InvalidInputError(f"kind must be one of {', '.join(_BY_NAME)}", field="kind")
    return kind


def kind_of(record: object) -> RecordKind[Any]:
    """The kind ``record`` is a record of; ``InvalidInputError`` when it is none of them."""
    for kind in RECORD_KINDS:
        if isinstance(record, kind.record_type):
            return kind
    raise InvalidInputError(f"{type(record).__name__} is no kind of health record", field="record")


def health_records(found: dict[str, tuple[Any, ...]]) -> HealthRecords:
    """``HealthRecords`` from each kind's records by plural (kinds left out are empty)."""
    fields: dict[str, Any] = {kind.plural: tuple(found.get(kind.plural, ())) for kind in RECORD_KINDS}
    return HealthRecords(**fields)
