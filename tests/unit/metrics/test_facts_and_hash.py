"""The metric set as a whole: JSON-ready, the per-day digest, data-quality notes, and the input hash."""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from sahha_sync.domain.analysis import AnalysisType
from sahha_sync.domain.metrics import (
    analysis_input_hash,
    compute_facts,
    compute_metrics,
    data_quality_notes,
)
from sahha_sync.domain.windows import FetchWindow
from sahha_sync.testing.analyst import HealthDataBuilder, sample_input, with_changed_biomarker

HASH = {"prompt_version": "p1", "model": "m1"}


def test_the_metric_set_is_json_ready_and_names_every_metric_once() -> None:
    metrics = compute_metrics(sample_input(14))

    text = json.dumps(metrics.to_dict(), allow_nan=False)
    names = [m.name for m in metrics.all_metrics()]
    assert "behavior.steps.level" in text
    assert len(names) == len(set(names))


def test_every_metric_says_how_many_days_it_rests_on() -> None:
    metrics = compute_metrics(sample_input(14))

    assert all(m.days >= 1 for m in metrics.all_metrics() if m.value is not None)
    assert all(m.reason for m in metrics.all_metrics() if m.value is None)


def test_the_digest_has_one_row_per_day_numbered_from_the_first_without_dates() -> None:
    builder = HealthDataBuilder()
    builder.daily(date(2026, 11, 3), "steps", 8412).daily(date(2026, 11, 3), "heart_rate_resting", 57.6)
    builder.night(datetime(2026, 11, 2, 23, 40, tzinfo=UTC), datetime(2026, 11, 3, 7, 10, tzinfo=UTC))
    builder.daily(date(2026, 11, 7), "steps", 10012)

    circadian = compute_facts(builder.build(AnalysisType.CIRCADIAN)).digest
    behaviour = compute_facts(builder.build(AnalysisType.BEHAVIOR)).digest

    rows = {row[0]: dict(zip(circadian.columns, row, strict=True)) for row in circadian.rows}
    assert list(rows) == ["1", "5"]
    tuesday = rows["1"]
    assert (tuesday["dow"], tuesday["kind"], tuesday["rhr"], tuesday["mid"], tuesday["sleep_h"]) == (
        "Tue", "W", "58", "03:25", "7.5",
    )  # fmt: skip
    assert (rows["5"]["dow"], rows["5"]["kind"], rows["5"]["mid"]) == ("Sat", "F", "-")
    assert behaviour.columns[:4] == ("day", "dow", "kind", "steps")
    assert [row[3] for row in behaviour.rows] == ["8412", "10012"]
    assert "2026" not in circadian.to_text() + behaviour.to_text()


def test_archived_data_is_flagged_as_possibly_stale() -> None:
    stale = datetime(2026, 11, 14, 6, 30, tzinfo=UTC)
    metrics = compute_metrics(dataclasses.replace(sample_input(14), data_source="archive", stale_as_of=stale))

    notes = data_quality_notes(metrics)
    assert any("archived" in n and "2026-11-14T06:30:00+00:00" in n for n in notes)


def test_missing_days_and_thin_data_are_noted() -> None:
    builder = HealthDataBuilder().daily(date(2026, 11, 2), "steps", 5000).daily(date(2026, 11, 4), "steps", 7000)
    notes = data_quality_notes(compute_metrics(builder.build(AnalysisType.CIRCADIAN)))

    assert any("2 of the 3 days" in n for n in notes)
    assert any("Only 2 day(s)" in n for n in notes)
    assert any("No sleep start and end times" in n for n in notes)


def test_full_data_have_no_quality_notes() -> None:
    assert data_quality_notes(compute_metrics(sample_input(14))) == ()


def test_equal_inputs_hash_equal_and_the_hash_is_a_sha256() -> None:
    first, second = analysis_input_hash(sample_input(), **HASH), analysis_input_hash(sample_input(), **HASH)

    assert first == second
    assert len(first) == 64
    int(first, 16)


def test_one_changed_biomarker_changes_the_hash() -> None:
    original = sample_input()
    for biomarker_type in ("steps", "heart_rate_resting", "sleep_efficiency"):
        changed = with_changed_biomarker(original, biomarker_type)
        assert analysis_input_hash(changed, **HASH) != analysis_input_hash(original, **HASH), biomarker_type


def test_the_model_and_the_prompt_version_are_part_of_the_hash() -> None:
    analysis_input = sample_input()

    assert analysis_input_hash(analysis_input, prompt_version="p1", model="m1") != analysis_input_hash(
        analysis_input, prompt_version="p2", model="m1"
    )
    assert analysis_input_hash(analysis_input, prompt_version="p1", model="m1") != analysis_input_hash(
        analysis_input, prompt_version="p1", model="m2"
    )


def test_the_same_data_over_a_later_window_hashes_the_same() -> None:
    analysis_input = sample_input()
    later = FetchWindow(analysis_input.period.start, analysis_input.period.end + timedelta(hours=5))

    assert analysis_input_hash(dataclasses.replace(analysis_input, period=later), **HASH) == analysis_input_hash(
        analysis_input, **HASH
    )


def test_switching_to_archived_data_changes_the_hash() -> None:
    analysis_input = sample_input()
    archived = dataclasses.replace(analysis_input, data_source="archive", stale_as_of=analysis_input.period.end)

    assert analysis_input_hash(archived, **HASH) != analysis_input_hash(analysis_input, **HASH)


@settings(max_examples=25, deadline=None)
@given(st.randoms(use_true_random=False))
def test_the_order_of_the_records_does_not_change_the_hash(rng: random.Random) -> None:
    analysis_input = sample_input(10, analysis_type=AnalysisType.CIRCADIAN)
    biomarkers, scores = list(analysis_input.biomarkers), list(analysis_input.scores)
    rng.shuffle(biomarkers)
    rng.shuffle(scores)
    shuffled = dataclasses.replace(analysis_input, biomarkers=tuple(biomarkers), scores=tuple(scores))

    assert analysis_input_hash(shuffled, **HASH) == analysis_input_hash(analysis_input, **HASH)


def test_a_record_sent_twice_counts_once() -> None:
    analysis_input = sample_input(7)
    doubled = dataclasses.replace(analysis_input, biomarkers=analysis_input.biomarkers * 2)

    assert compute_metrics(doubled) == compute_metrics(analysis_input)
