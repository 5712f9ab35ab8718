"""``sahha-sync analyze`` shows the numbers behind its words: ``--json`` prints every computed metric, and
``--workdays`` gives the user's own work days (on the embedded defaults: SQLite, the emulator, the offline
analyst)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.e2e.conftest import CliResult

Cli = Callable[..., CliResult]


@pytest.fixture(autouse=True)
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def analyze_json(cli: Cli, *args: str) -> dict:  # type: ignore[type-arg]
    code, out, err = cli("analyze", "--user", "user-0001", "--archetype", "Peak Performer", *args, "--json")
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def test_analyze_json_prints_each_metric_with_its_unit_and_days_or_why_it_is_absent(cli: Cli) -> None:
    report = analyze_json(cli, "--type", "circadian")

    metrics = report["metrics"]
    circadian = {m["name"]: m for m in metrics["circadian"]}
    onset = circadian["circadian.onset.mean"]
    # a week of sleep days (18:00 to 17:59:59); the last night may not have reached Sahha yet
    assert (onset["unit"], onset["reason"]) == ("hour_of_day", None)
    assert onset["days"] in (6, 7)
    assert isinstance(onset["value"], float)
    trend = circadian["circadian.sleep_duration.trend"]
    assert (trend["value"], trend["reason"]) == (None, f"needs at least 14 days of data, has {onset['days']}")
    assert metrics["schedule"]["given"] is False
    assert report["insights"]
    assert all(i["metric"] in circadian or i["metric"].startswith("scores.") for i in report["insights"])
    assert report["dropped_insights"] == 0


def test_analyze_takes_the_users_work_days(cli: Cli) -> None:
    report = analyze_json(cli, "--type", "behavior", "--workdays", "mon,tue,wed")

    assert report["metrics"]["schedule"] == {
        "description": "work days Monday to Wednesday; free days Thursday to Sunday",
        "given": True,
    }
    steps = {m["name"]: m["days"] for m in report["metrics"]["behavior"] if m["name"].startswith("behavior.steps.")}
    # the days the week covered depend on today and on the user's time of day: today may have no data yet, or
    # last night's sleep but not yet the day's steps
    coverage = report["metrics"]["coverage"]
    first, last = date.fromisoformat(coverage["first_day"]), date.fromisoformat(coverage["last_day"])
    covered = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    assert coverage["days_with_data"] == len(covered) >= 6
    with_steps = covered[: steps["behavior.steps.level"]]
    assert len(covered) - len(with_steps) in (0, 1)
    assert steps["behavior.steps.work_days"] == sum(1 for day in with_steps if day.weekday() < 3) >= 2
    assert steps["behavior.steps.free_days"] == len(with_steps) - steps["behavior.steps.work_days"]


def test_analyze_refuses_a_day_that_is_not_one(cli: Cli) -> None:
    code, _, err = cli("analyze", "--user", "u1", "--type", "behavior", "--archetype", "A", "--workdays", "mon,funday")

    assert code == 2
    assert "--workdays" in err
    assert "'funday' is not a day of the week" in err


def test_any_user_id_has_data_on_the_emulator(cli: Cli) -> None:
    code, out, err = cli("analyze", "--user", "alice", "--archetype", "Peak Performer", "--type", "behavior")
    assert code == 0, err
    fetched = next(line for line in out.splitlines() if line.startswith("fetched "))
    assert int(fetched.split()[1]) > 0
    assert "sync: synced" in out
