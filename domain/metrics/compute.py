"""From an ``AnalysisInput`` to its metrics, its digest, and the hash that identifies what an analyst is told."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sahha_sync.domain.analysis import AnalysisInput, AnalysisType
from sahha_sync.domain.health import Biomarker, Score
from sahha_sync.domain.metrics.behavior import behavior_metrics, behavior_series
from sahha_sync.domain.metrics.circadian import circadian_metrics, sleep_efficiency, sleep_minutes
from sahha_sync.domain.metrics.days import Calendar, LocalDay, Stamp, moment_stamp, window_stamp
from sahha_sync.domain.metrics.digest import (
    BEHAVIOR_COLUMNS,
    CIRCADIAN_COLUMNS,
    Cell,
    Digest,
    build_digest,
    mid_sleep_cell,
    number_cell,
)
from sahha_sync.domain.metrics.model import Coverage, MetricSet
from sahha_sync.domain.metrics.readings import Readings
from sahha_sync.domain.metrics.scores import latest_scores, score_metrics, score_stream
from sahha_sync.domain.metrics.sleep import SLEEP_TIME_TYPES, Night, SleepLog, sleep_log
from sahha_sync.domain.schedule import DEFAULT_SCHEDULE, WorkSchedule
from sahha_sync.domain.snapshot import dedupe_by_key

DEFAULT_SCHEDULE_NOTE = " (the default: no work schedule was given)"


@dataclass(frozen=True, slots=True)
class AnalysisFacts:
    """What the code computed from one input: the metrics and the per-day digest."""

    metrics: MetricSet
    digest: Digest

    def input_hash(self, *, prompt_version: str, model: str) -> str:
        return input_hash(self.metrics, self.digest, prompt_version=prompt_version, model=model)


def _stamps(biomarkers: Iterable[Biomarker], scores: Iterable[Score], nights: Iterable[Night]) -> list[Stamp]:
    stamps = [
        window_stamp(b.type, b.start_date_time, b.end_date_time)
        for b in biomarkers
        if b.type not in SLEEP_TIME_TYPES and b.periodicity.lower() != "weekly"
    ]
    stamps += [moment_stamp(score_stream(s.type), s.score_date_time) for s in scores]
    stamps += [Stamp("night", n.day, n.offset) for n in nights]
    return stamps


def _coverage(calendar: Calendar, log: SleepLog, readings: Readings) -> Coverage:
    days = calendar.days
    return Coverage(
        days_with_data=len(days),
        first_day=days[0].date if days else None,
        last_day=days[-1].date if days else None,
        nights=len(log.nights),
        naps=log.naps,
        daytime_sleeps=sum(1 for n in log.nights if n.daytime),
        repeated_dates=calendar.repeated_dates,
        offset_changes=calendar.offset_changes(),
        implausible=tuple(sorted(readings.implausible.items())),
    )


def _cells(
    analysis_type: AnalysisType, readings: Readings, scores: list[Score], nights: Mapping[LocalDay, Night]
) -> dict[str, Cell]:
    calendar = readings.calendar

    def score(score_type: str) -> Cell:
        by_day = latest_scores(scores, score_type, calendar)
        return number_cell({d: s.score for d, s in by_day.items() if s.score is not None}, 2)

    if analysis_type is AnalysisType.BEHAVIOR:
        series = {name: values for name, (values, _) in behavior_series(readings).items()}
        cells = (
            number_cell(series["steps"]), number_cell(series["active_hours"], 1),
            number_cell(series["sedentary_time"]), number_cell(series["intensity_minutes"]),
            score("activity"), score("readiness"), score("wellbeing"),
        )  # fmt: skip
        return dict(zip(BEHAVIOR_COLUMNS, cells, strict=True))
    cells = (
        number_cell(sleep_minutes(readings, nights)[0], 1, 1 / 60), mid_sleep_cell(nights),
        number_cell(sleep_efficiency(readings)[0]), number_cell(readings.daily("heart_rate_resting")),
        score("sleep"), score("readiness"), score("mental_wellbeing"),
    )  # fmt: skip
    return dict(zip(CIRCADIAN_COLUMNS, cells, strict=True))


def compute_facts(analysis_input: AnalysisInput) -> AnalysisFacts:
    """The metrics and the digest of ``analysis_input`` (pure and deterministic)."""
    biomarkers, scores = dedupe_by_key(analysis_input.biomarkers), dedupe_by_key(analysis_input.scores)
    log = sleep_log(biomarkers)
    calendar = Calendar(_stamps(biomarkers, scores, log.nights))
    readings = Readings(biomarkers, calendar)
    nights = {calendar.day(n.day, n.offset): n for n in log.nights}
    schedule: WorkSchedule = analysis_input.work_schedule or DEFAULT_SCHEDULE
    given = analysis_input.work_schedule is not None
    metrics = MetricSet(
        analysis_type=analysis_input.analysis_type.value,
        archetype=analysis_input.archetype,
        data_source=analysis_input.data_source,
        stale_as_of=analysis_input.stale_as_of,
        coverage=_coverage(calendar, log, readings),
        schedule=schedule.describe() + ("" if given else DEFAULT_SCHEDULE_NOTE),
        schedule_given=given,
        circadian=circadian_metrics(readings, nights, schedule),
        behavior=behavior_metrics(readings, schedule),
        scores=score_metrics(scores, calendar),
    )
    cells = _cells(analysis_input.analysis_type, readings, scores, nights)
    return AnalysisFacts(metrics, build_digest(calendar.days, cells, schedule))


def compute_metrics(analysis_input: AnalysisInput) -> MetricSet:
    return compute_facts(analysis_input).metrics


def canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def input_hash(metrics: MetricSet, digest: Digest, *, prompt_version: str, model: str) -> str:
    """sha256 (hex) of the canonical JSON of the metrics, the full digest, the prompt version and the model.

    The period and the user id are left out on purpose: the same data analysed an hour later, for the same
    user, is the same input (an incremental window's length changes with every run).
    """
    payload = {
        "metrics": metrics.to_dict(),
        "digest": digest.to_dict(),
        "prompt_version": prompt_version,
        "model": model,
    }
    return hashlib.sha256(canonical_json(payload).encode("ascii")).hexdigest()


def analysis_input_hash(analysis_input: AnalysisInput, *, prompt_version: str, model: str) -> str:
    """The hash an analyst with ``prompt_version`` and ``model`` gives ``analysis_input`` (see ``input_hash``)."""
    return compute_facts(analysis_input).input_hash(prompt_version=prompt_version, model=model)
