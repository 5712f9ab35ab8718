from datetime import UTC, date, datetime, time, timedelta

from sahha_sync.adapters.sahha.catalog import SCORE_TYPES
from sahha_sync.adapters.sahha.emulator import Persona, SyntheticPopulation
from sahha_sync.domain import Biomarker, FetchWindow
from tests.unit.sahha._turns import other_task_turns

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
    assert {a.periodicity for a in records.archetypes} == {"weekly", "monthly"}
    assert all(a.created_at_utc is None and a.version is None for a in records.archetypes)
    assert all(a.start_date_time.weekday() == 0 for a in records.archetypes if a.periodicity == "weekly")
    assert all(a.start_date_time.day == 1 for a in records.archetypes if a.periodicity == "monthly")
    assert {"steps", "sleep_duration", "heart_rate_resting"} <= {b.type for b in records.biomarkers}


def test_late_data_is_hidden_until_it_is_available() -> None:
    population = SyntheticPopulation(seed=0)
    pid = population.profile_ids[0]
    everything = population.records_for(pid, WEEK)
    now_visible = population.records_for(pid, WEEK, as_of=NOW)
    later_visible = population.records_for(pid, WEEK, as_of=NOW + timedelta(days=3))
    assert len(now_visible.biomarkers) < len(everything.biomarkers)
    assert {b.key for b in now_visible.biomarkers} <= {b.key for b in everything.biomarkers}
    assert later_visible.biomarkers == everything.biomarkers


def test_some_records_arrive_more_than_a_day_after_their_period() -> None:
    population = SyntheticPopulation(seed=0)
    late = [
        record
        for pid in population.profile_ids
        for record, at in population.versions(pid, WEEK)
        if isinstance(record, Biomarker)
        and record.periodicity == "daily"
        and at - record.end_date_time > timedelta(days=1)
    ]
    assert late


def test_without_any_profile_an_unknown_user_has_no_records() -> None:
    assert SyntheticPopulation(seed=0, any_profile=False).records_for("nobody", WEEK).total_items == 0


def test_real_shapes_sleep_days_from_18_00_clock_times_weekly_records_and_no_created_at() -> None:
    population = SyntheticPopulation(seed=0, size=3)
    for pid in population.profile_ids:
        offset = population.persona(pid).utc_offset
        records = population.records_for(pid, WEEK)
        sleep = [b for b in records.biomarkers if b.category == "sleep" and b.periodicity == "daily"]
        assert sleep
        assert all((b.start_date_time.hour, b.end_date_time.time()) == (18, time(17, 59, 59)) for b in sleep)
        clock = [b for b in sleep if b.type in ("sleep_start_time", "sleep_end_time", "sleep_mid_time")]
        assert clock
        assert all(datetime.fromisoformat(b.value).utcoffset() == offset for b in clock)
        assert all(len(b.value) == len("2025-07-11T06:00+12:00") for b in clock)
        weekly = {b.type: b for b in records.biomarkers if b.periodicity == "weekly"}
        assert (weekly["sleep_regularity"].unit, weekly["sleep_debt"].unit) == ("percentage", "hour")
        assert 0.0 <= float(weekly["sleep_regularity"].value) <= 1.0
        assert all(b.created_at_utc is None for b in records.biomarkers)
        assert all(s.created_at_utc is not None and s.version == "1" for s in records.scores)


def test_running_totals_are_revised_under_the_daily_records_key_then_its_final_value() -> None:
    population = SyntheticPopulation(seed=0, size=1)
    versions = [(r, at) for r, at in population.versions("user-0000", WEEK) if isinstance(r, Biomarker)]
    steps: dict[object, list[tuple[str, int]]] = {}
    for record, _ in versions:
        if record.type == "steps":
            steps.setdefault(record.key, []).append((record.periodicity, int(record.value)))
    full_days = [v for v in steps.values() if len(v) == 4]
    assert full_days
    for day in full_days:
        assert [p for p, _ in day] == ["intraday"] * 3 + ["daily"]
        assert [v for _, v in day] == sorted(v for _, v in day)


def test_a_traveller_lives_the_day_of_the_move_twice_once_in_each_offset() -> None:
    moved = (WEEK.start.date() + timedelta(days=3), timedelta(hours=-8))
    population = SyntheticPopulation(seed=0, size=1, travellers={"user-0000": moved})
    home = population.persona("user-0000").utc_offset
    steps = [b for b in population.records_for("user-0000", WEEK).biomarkers if b.type == "steps"]
    on_the_day = [b for b in steps if b.start_date_time.date() == moved[0]]
    assert {b.start_date_time.utcoffset() for b in on_the_day} == {home, moved[1]}
    assert len({b.key for b in on_the_day}) == 2


def test_hosts_may_name_the_users() -> None:
    population = SyntheticPopulation(seed=0, profile_ids=["a/b", "ü ?#"])
    assert population.profile_ids == ("a/b", "ü ?#")
    assert population.records_for("ü ?#", WEEK).biomarkers[0].user_id == "ü ?#"


def test_with_any_profile_every_id_is_a_user_and_stays_the_same() -> None:
    population = SyntheticPopulation(seed=0, size=2)
    first = population.records_for("host-user-42", WEEK)
    assert first.biomarkers
    assert SyntheticPopulation(seed=0).records_for("host-user-42", WEEK) == first
    assert population.profile_ids == ("user-0000", "user-0001")


async def test_prepare_draws_every_day_records_for_reads_and_lets_other_tasks_run_between_them(monkeypatch) -> None:
    from sahha_sync.adapters.sahha.emulator import population as module

    travellers = {"user-0001": (WEEK.start.date() + timedelta(days=2), timedelta(hours=5))}
    users, fresh = ("user-0001", "host-user-7"), SyntheticPopulation(seed=0, travellers=travellers)
    expected = {
        (pid, a): fresh.records_for(pid, WEEK, as_of=NOW, include_archetypes=a) for pid in users for a in (False, True)
    }
    population = SyntheticPopulation(seed=0, travellers=travellers)
    async with other_task_turns() as turns:
        for pid in users:
            await population.prepare(pid, WEEK, include_archetypes=True)
    assert turns.count > 40  # the other task ran between the days drawn, not once after all of them

    def no_more_days(*args: object, **kwargs: object) -> None:
        raise AssertionError("records_for drew a day that prepare should have drawn")

    monkeypatch.setattr(module, "DayBuilder", no_more_days)
    for (pid, archetypes), records in expected.items():
        assert population.records_for(pid, WEEK, as_of=NOW, include_archetypes=archetypes) == records


def test_a_day_drawn_for_its_summary_alone_has_the_summary_of_the_whole_day_and_no_records() -> None:
    from sahha_sync.adapters.sahha.emulator.days import DayBuilder

    population = SyntheticPopulation(seed=4, size=6)
    summaries = 0
    for pid in population.profile_ids:
        persona = population.persona(pid)
        for n in range(20):
            day = WEEK.start.date() - timedelta(days=n)
            knobs = {"seed": 4, "max_delay": timedelta(days=2), "late_fraction": 0.15}
            alone = DayBuilder(persona, day, **knobs)
            records, summary = DayBuilder(persona, day, **knobs).build()
            assert alone.summary() == summary
            assert alone.records == []
            assert bool(records) == (summary is not None)
            summaries += summary is not None
    assert summaries > 100


def test_archetypes_read_the_same_days_whether_or_not_their_records_were_drawn() -> None:
    window = FetchWindow(NOW - timedelta(days=3), NOW)
    archetypes_first, records_first = SyntheticPopulation(seed=2), SyntheticPopulation(seed=2)
    for pid in ("user-0003", "user-0004"):
        records_first.records_for(pid, FetchWindow(NOW - timedelta(days=60), NOW), include_archetypes=False)
        assert archetypes_first.records_for(pid, window) == records_first.records_for(pid, window)
        wider = FetchWindow(NOW - timedelta(days=45), NOW)  # records of days first drawn for their summary
        assert archetypes_first.records_for(pid, wider) == records_first.records_for(pid, wider)


def test_the_archetypes_kept_per_period_are_those_computed_afresh_for_any_window() -> None:
    from sahha_sync.adapters.sahha.emulator.archetypes import archetypes_for
    from sahha_sync.adapters.sahha.emulator.days import DayBuilder, DaySummary
    from sahha_sync.domain import Archetype

    population = SyntheticPopulation(seed=1, size=3)
    for pid in population.profile_ids:
        persona = population.persona(pid)

        def summaries(first: date, last: date, persona: Persona = persona) -> list[DaySummary]:
            days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
            drawn = [DayBuilder(persona, d, seed=1, max_delay=timedelta(days=2), late_fraction=0.15) for d in days]
            return [s for builder in drawn if (s := builder.build()[1]) is not None]

        for n in range(0, 45, 9):
            window = FetchWindow(NOW - timedelta(days=n + 3), NOW - timedelta(days=n))
            expected = archetypes_for(persona, window, summaries, seed=1, max_delay=timedelta(days=2))
            kept = [(a, at) for a, at in population.versions(pid, window) if isinstance(a, Archetype)]
            assert expected
            assert len(kept) == len(expected)
            assert set(kept) == set(expected)


async def test_a_population_that_keeps_few_days_answers_the_same(monkeypatch) -> None:
    from sahha_sync.adapters.sahha.emulator import population as module

    keeping_all = SyntheticPopulation(seed=5, size=3)
    expected = [keeping_all.records_for(pid, WEEK, as_of=NOW) for pid in keeping_all.profile_ids]
    monkeypatch.setattr(module, "_DAYS_LIMIT", 4)
    keeping_few = SyntheticPopulation(seed=5, size=3)
    for _ in range(2):
        for pid, records in zip(keeping_few.profile_ids, expected, strict=True):
            await keeping_few.prepare(pid, WEEK)
            assert keeping_few.records_for(pid, WEEK, as_of=NOW) == records
