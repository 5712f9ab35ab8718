"""Merging fresh and archived records, and the snapshot's shapes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from sahha_sync.domain.health import Biomarker, Score
from sahha_sync.domain.snapshot import HealthSnapshot, dedupe_by_key, merge_by_key, merge_into
from sahha_sync.domain.windows import FetchWindow
from sahha_sync.testing.records import archetype, biomarker, score
from sahha_sync.testing.strategies import biomarkers, scores

NOW = datetime(2025, 10, 8, tzinfo=UTC)
SEED_KEYS = {"biomarkers", "scores", "fetched_at", "is_incremental", "watermark", "total_items"}


@given(archived=st.lists(biomarkers()), fresh=st.lists(biomarkers()))
def test_merging_twice_gives_the_same_as_merging_once(archived: list[Biomarker], fresh: list[Biomarker]) -> None:
    once = merge_by_key(archived, fresh)
    assert merge_by_key(once, fresh) == once


@given(archived=st.lists(biomarkers()), fresh=st.lists(biomarkers()))
def test_a_merge_keeps_one_record_per_key_and_of_records_not_saying_when_observed_the_fresh_one_wins(
    archived: list[Biomarker], fresh: list[Biomarker]
) -> None:
    merged = merge_by_key(archived, fresh)
    keys = [b.key for b in merged]
    assert len(keys) == len(set(keys))
    assert set(keys) == {b.key for b in archived} | {b.key for b in fresh}
    latest_fresh = {b.key: b for b in fresh}
    latest_archived = {b.key: b for b in archived}
    for record in merged:
        assert record == latest_fresh.get(record.key, latest_archived.get(record.key))


@given(archived=st.lists(scores()), fresh=st.lists(scores()))
def test_scores_merge_on_their_own_key(archived: list[Score], fresh: list[Score]) -> None:
    merged = merge_by_key(archived, fresh)
    assert {s.key: s for s in merged} == {**{s.key: s for s in archived}, **{s.key: s for s in fresh}}


@given(records=st.lists(biomarkers()))
def test_dedupe_keeps_the_last_record_of_each_key_when_none_says_when_it_was_observed(records: list[Biomarker]) -> None:
    deduped = dedupe_by_key(records)
    assert {b.key: b for b in deduped} == {b.key: b for b in records}
    assert len(deduped) == len({b.key for b in records})
    assert dedupe_by_key(deduped) == deduped


@given(records=st.lists(biomarkers()), cut=st.integers(min_value=0, max_value=20))
def test_folding_records_in_steps_gives_the_merge_of_them_all(records: list[Biomarker], cut: int) -> None:
    merged: dict[object, Biomarker] = {}
    merge_into(merged, records[:cut])
    merge_into(merged, records[cut:])
    assert list(merged.values()) == merge_by_key(records[:cut], records[cut:]) == dedupe_by_key(records)


def test_a_merge_can_use_another_key() -> None:
    a, b = biomarker("u", day=0), biomarker("u", day=1)
    assert merge_by_key([a], [b], key=lambda r: r.user_id) == [b]


def _snapshot(watermark: datetime | None = None) -> HealthSnapshot:
    return HealthSnapshot(
        biomarkers=(biomarker("u"), biomarker("u", day=1)),
        scores=(score("u"),),
        archetypes=(archetype("u"),),
        fetched_at=NOW,
        window=FetchWindow(NOW - timedelta(days=7), NOW),
        is_incremental=watermark is not None,
        watermark=watermark,
    )


def test_to_dict_has_exactly_the_seeds_keys() -> None:
    data = _snapshot().to_dict()
    assert set(data) == SEED_KEYS
    assert data["total_items"] == 4
    assert data["watermark"] is None
    assert data["fetched_at"] == NOW.isoformat()
    json.dumps(data)  # the seed's dict is JSON-ready


def test_to_dict_shows_the_watermark_of_an_incremental_fetch() -> None:
    watermark = NOW - timedelta(hours=8)
    data = _snapshot(watermark).to_dict()
    assert data["is_incremental"] is True
    assert data["watermark"] == watermark.isoformat()


def test_a_snapshot_reads_back_whole_from_its_payload() -> None:
    snapshot = _snapshot(NOW - timedelta(hours=8))
    payload = json.loads(json.dumps(snapshot.to_payload()))
    assert HealthSnapshot.from_payload(payload) == snapshot


def test_a_snapshot_holds_its_records() -> None:
    snapshot = _snapshot()
    assert snapshot.records.biomarkers == snapshot.biomarkers
    assert snapshot.records.total_items == snapshot.total_items == 4
