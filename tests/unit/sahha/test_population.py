from datetime import UTC, datetime, timedelta

from sahha_sync.adapters.sahha.catalog import SCORE_TYPES
from sahha_sync.adapters.sahha.emulator import SyntheticPopulation
from sahha_sync.domain import FetchWindow

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
WEEK = FetchWindow(NOW - timedelta(days=7), NOW)


def test_the_same_seed_gives_the_same_users_and_records() -> None:
    a, b = SyntheticPopulation(seed=3), SyntheticPopulation(seed=3)
    assert a.profile_ids == b.profile_ids
    for pid in a.profile_ids[:5]:
        assert a.records_for(pid, WEEK) == b.records_for(pid, WEEK)


def test_another_seed_gives_other_values() -> None:
    a = SyntheticPopulation(seed=0).records_for("user-0000", WEEK)
    b = SyntheticPopulation(seed=1).records_for("user-0000", WEEK)
    assert [x.value for x in a.biomarkers] != [x.value for x in b.biomarkers]


def test_records_meet_the_window_and_keep_the_users_local_offset() -> None:
    population = SyntheticPopulation(seed=0)
    for pid in population.profile_ids:
        offset = population.persona(pid).utc_offset
        records = population.records_for(pid, WEEK)
        for b in records.biomarkers:
            assert WEEK.overlaps(*b.period)
            assert b.start_date_time.utcoffset() == offset
        for s in records.scores:
            assert WEEK.overlaps(*s.period)
            assert 0.0 <= (s.score or 0.0) <= 1.0
            assert s.factors


def test_sleep_times_are_local_datetimes_in_the_evening_or_night() -> None:
    population = SyntheticPopulation(seed=0)
    starts = [
        datetime.fromisoformat(b.value)
        for pid in population.profile_ids
        for b in population.records_for(pid, WEEK).biomarkers
        if b.type == "sleep_start_time"
    ]
    assert starts
    assert all(s.hour >= 20 or s.hour <= 4 for s in starts)


def test_a_week_holds_the_five_score_types_and_weekly_archetypes() -> None:
    records = SyntheticPopulation(seed=0, size=5).records_for("user-0001", FetchWindow(NOW - timedelta(days=21), NOW))
    assert {s.type for s in records.scores} == set(SCORE_TYPES)
    assert {a.periodicity for a in records.archetypes} == {"weekly"}
    assert {"steps", "sleep_duration", "heart_rate_resting"} <= {b.type for b in records.biomarkers}


def test_late_data_is_hidden_until_it_is_available() -> None:
    population = SyntheticPopulation(seed=0)
    pid = population.profile_ids[0]
    everything = population.records_for(pid, WEEK)
    now_visible = population.records_for(pid, WEEK, as_of=NOW)
    later_visible = population.records_for(pid, WEEK, as_of=NOW + timedelta(days=3))
    assert len(now_visible.biomarkers) < len(everything.biomarkers)
    assert set(now_visible.biomarkers) <= set(everything.biomarkers)
    assert later_visible.biomarkers == everything.biomarkers


def test_some_records_arrive_more_than_a_day_after_their_period() -> None:
    population = SyntheticPopulation(seed=0)
    late = [
        b
        for pid in population.profile_ids
        for b in population.records_for(pid, WEEK).biomarkers
        if b.created_at_utc is not None and b.created_at_utc - b.end_date_time > timedelta(days=1)
    ]
    assert late


def test_an_unknown_user_has_no_records() -> None:
    assert SyntheticPopulation(seed=0).records_for("nobody", WEEK).total_items == 0


def test_hosts_may_name_the_users() -> None:
    population = SyntheticPopulation(seed=0, profile_ids=["a/b", "ü ?#"])
    assert population.profile_ids == ("a/b", "ü ?#")
    assert population.records_for("ü ?#", WEEK).biomarkers[0].user_id == "ü ?#"


def test_with_any_profile_every_id_is_a_user_and_stays_the_same() -> None:
    population = SyntheticPopulation(seed=0, size=2, any_profile=True)
    first = population.records_for("host-user-42", WEEK)
    assert first.biomarkers
    assert SyntheticPopulation(seed=0, any_profile=True).records_for("host-user-42", WEEK) == first
    assert population.profile_ids == ("user-0000", "user-0001")
