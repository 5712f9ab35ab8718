"""The registry of record kinds names each kind once, and what is done per kind follows it."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from sahha_sync.domain import (
    ARCHETYPE,
    BIOMARKER,
    RECORD_KINDS,
    SCORE,
    HealthRecords,
    InvalidInputError,
    RecordKind,
    RecordsArchived,
    SyncStatus,
    decode_event,
    encode_event,
    kind_named,
    kind_of,
)
from sahha_sync.domain.record_kinds import health_records
from sahha_sync.testing.records import archetype, biomarker, score

T = datetime(2026, 3, 10, 12, tzinfo=UTC)


def test_each_kind_is_named_once_and_its_plural_is_its_field_of_health_records() -> None:
    assert [k.name for k in RECORD_KINDS] == ["biomarker", "score", "archetype"]
    assert len({k.plural for k in RECORD_KINDS}) == len(RECORD_KINDS)
    assert {k.plural for k in RECORD_KINDS} <= {f.name for f in dataclasses.fields(HealthRecords)}


@pytest.mark.parametrize(
    ("record", "kind"), [(biomarker("u"), BIOMARKER), (score("u"), SCORE), (archetype("u"), ARCHETYPE)]
)
def test_a_record_knows_its_kind_and_the_kind_finds_it_among_records(record: object, kind: RecordKind[Any]) -> None:
    assert kind_of(record) is kind
    assert kind_named(kind_of(record).name) is kind
    records = health_records({kind_of(record).plural: (record,)})
    assert [found for k in RECORD_KINDS for found in k.records_in(records)] == [record]


@pytest.mark.parametrize("name", ["biomarkers", "heart", "", None, 3])
def test_a_name_that_is_no_kind_is_refused_naming_the_field(name: object) -> None:
    with pytest.raises(InvalidInputError) as caught:
        kind_named(name)
    assert caught.value.field == "kind"


def test_something_that_is_no_record_has_no_kind() -> None:
    with pytest.raises(InvalidInputError):
        kind_of("steps")


def test_a_kinds_sync_flag_is_the_seeds_column_name() -> None:
    assert [k.sync_flag for k in RECORD_KINDS] == ["biomarkers_synced", "scores_synced", "archetypes_synced"]


def test_a_run_is_flagged_per_kind_its_records_archived_and_complete_once_every_kind_is() -> None:
    status = SyncStatus()
    for kind in RECORD_KINDS:
        assert not status.all_kinds_synced
        archived = RecordsArchived(run_id="r", occurred_at=T, kind=kind.name, inserted=1, updated=0, unchanged=0)
        status = status.apply(archived)
        assert status.is_synced(kind)
    assert status.all_kinds_synced
    assert (status.biomarkers_synced, status.scores_synced, status.archetypes_synced) == (True, True, True)


@pytest.mark.parametrize("kind", RECORD_KINDS, ids=lambda k: k.name)
def test_a_part_event_stored_under_its_former_type_reads_as_records_archived_of_its_kind(
    kind: RecordKind[Any],
) -> None:
    event = RecordsArchived(run_id="r", occurred_at=T, kind=kind.name, inserted=4, updated=1, unchanged=2)
    _, version, payload = encode_event(event)
    former = {k: v for k, v in payload.items() if k != "kind"}  # the old types carried the kind in their name

    assert decode_event(f"{kind.plural}.archived", version, former) == event
    assert encode_event(event)[0] == "records.archived"


def test_a_kind_this_version_does_not_know_still_decodes_and_flags_nothing_it_knows() -> None:
    stored = {
        "run_id": "r",
        "occurred_at": T.isoformat(),
        "kind": "weekly",
        "inserted": 1,
        "updated": 0,
        "unchanged": 0,
    }
    event = decode_event("records.archived", 1, stored)
    status = SyncStatus().apply(event)
    assert not any(status.is_synced(kind) for kind in RECORD_KINDS)
