"""How new a record's version is (``observed_at``), and merges that keep the newest version of each key."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.health import Archetype, Biomarker, Score
from sahha_sync.domain.snapshot import HealthSnapshot, dedupe_by_key, merge_by_key, newer_or_same
from sahha_sync.domain.windows import FetchWindow
from sahha_sync.testing.records import T0, archetype, biomarker, score
from sahha_sync.testing.strategies import biomarkers, observed

FETCHED = T0 + timedelta(days=2)
RECORDS = (biomarker("u"), score("u"), archetype("u"))


def test_observed_at_is_sahhas_created_at_whenever_sahha_gives_one() -> None:
    for record in RECORDS:
        stamped = dataclasses.replace(record, observed_at=FETCHED)
        assert stamped.created_at_utc is not None
        assert stamped.observed_at == stamped.created_at_utc


def test_without_created_at_observed_at_is_what_the_reader_stamped() -> None:
    for record in RECORDS:
        assert dataclasses.replace(record, created_at_utc=None, observed_at=FETCHED).observed_at == FETCHED
        assert dataclasses.replace(record, created_at_utc=None, observed_at=None).observed_at is None


def test_two_observations_of_one_value_are_equal_records() -> None:
    record = dataclasses.replace(biomarker("u"), created_at_utc=None, observed_at=FETCHED)
    assert dataclasses.replace(record, observed_at=FETCHED + timedelta(hours=1)) == record


def test_observed_at_survives_the_dict_form_of_every_kind() -> None:
    kinds: tuple[type[Biomarker] | type[Score] | type[Archetype], ...] = (Biomarker, Score, Archetype)
    for kind, record in zip(kinds, RECORDS, strict=True):
        unstamped = dataclasses.replace(record, created_at_utc=None, observed_at=FETCHED)
        again = kind.from_dict(json.loads(json.dumps(unstamped.to_dict())))
        assert again.observed_at == FETCHED


def test_a_naive_observed_at_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="observed_at"):
        dataclasses.replace(biomarker("u"), observed_at=datetime(2025, 1, 1))


def test_a_record_that_does_not_say_when_it_was_observed_counts_as_the_newest() -> None:
    known = dataclasses.replace(biomarker("u"), created_at_utc=None, observed_at=FETCHED)
    unknown = dataclasses.replace(known, observed_at=None)
    assert newer_or_same(unknown, known)
    assert not newer_or_same(known, unknown)
    assert newer_or_same(known, known)


def test_a_payload_record_that_does_not_say_when_it_was_observed_was_observed_at_the_fetch() -> None:
    record = dataclasses.replace(biomarker("u"), created_at_utc=None, observed_at=None)
    snapshot = HealthSnapshot(
        biomarkers=(record,), scores=(), fetched_at=FETCHED, window=FetchWindow(T0, FETCHED), is_incremental=False,
        watermark=None,
    )  # fmt: skip
    (again,) = HealthSnapshot.from_payload(json.loads(json.dumps(snapshot.to_payload()))).biomarkers
    assert again.observed_at == FETCHED


@given(records=st.lists(observed(biomarkers())))
def test_dedupe_keeps_the_newest_record_of_each_key_and_of_equally_new_ones_the_last(
    records: list[Biomarker],
) -> None:
    deduped = dedupe_by_key(records)
    assert len(deduped) == len({b.key for b in records})
    for kept in deduped:
        same_key = [b for b in records if b.key == kept.key]
        newest = max(b.observed_at for b in same_key if b.observed_at is not None)
        assert kept.observed_at == newest
        assert kept is [b for b in same_key if b.observed_at == newest][-1]


@given(archived=st.lists(observed(biomarkers())), fresh=st.lists(observed(biomarkers())))
def test_a_merge_keeps_the_newest_of_archived_and_fresh_and_the_fresh_one_when_equally_new(
    archived: list[Biomarker], fresh: list[Biomarker]
) -> None:
    merged = merge_by_key(archived, fresh)
    assert merge_by_key(merged, fresh) == merged
    for kept in merged:
        candidates = dedupe_by_key([b for b in (*archived, *fresh) if b.key == kept.key])
        assert kept is candidates[0]


def test_an_older_fresh_record_does_not_replace_a_newer_archived_one() -> None:
    archived = dataclasses.replace(biomarker("u"), value="455", created_at_utc=T0 + timedelta(hours=2))
    fresh = dataclasses.replace(archived, value="400", created_at_utc=T0 + timedelta(hours=1))
    assert merge_by_key([archived], [fresh]) == [archived]
    assert dedupe_by_key([archived, fresh]) == [archived]
    assert dedupe_by_key([fresh, archived]) == [archived]
    assert merge_by_key([], [archived], key=lambda r: r.user_id) == [archived]
