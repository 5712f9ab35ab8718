"""MCTQ from measured nights: mid-sleep and sleep duration on work and free days, chronotype, social jet lag.

Main sleeps are split by the work schedule: a night is a free-day night when the day the user woke on is
free. For each group, mid-sleep (MSW, MSF) is the circular mean of the nights' mid-sleep times and sleep
duration (SDw, SDf) the median of their onset-to-wake spans (MCTQ's ``SD = SE - SO``); naps are left out, as in
the questionnaire. SDweek, the chronotype MSFsc and social jet lag follow by the formulas of ``mctq``, with the
schedule's number of work days a week. Both groups need ``MIN_GROUP_DAYS`` nights.

The MCTQ describes people who sleep at night around a day-work schedule. A shift-like pattern (main sleeps in
the daytime, or mid-sleep on free and work days ``SHIFT_LIKE_JET_LAG`` hours or more apart) is flagged, and the
chronotype then gets no early/late label.
"""

from __future__ import annotations

from collections.abc import Sequence

from sahha_sync.domain.metrics import mctq
from sahha_sync.domain.metrics.model import CLOCK_UNIT, Metric, MetricSet
from sahha_sync.domain.metrics.series import MIN_GROUP_DAYS
from sahha_sync.domain.metrics.sleep import Night
from sahha_sync.domain.metrics.stats import circular_mean_hour, clock_difference, median
from sahha_sync.domain.schedule import WorkSchedule

MSW = "circadian.mid_sleep_work_days"
MSF = "circadian.mid_sleep_free_days"
SDW = "circadian.sleep_duration_work_days"
SDF = "circadian.sleep_duration_free_days"
SDWEEK = "circadian.sleep_duration_week"
MSFSC = "circadian.chronotype_msfsc"
CORRECTION = "circadian.chronotype_correction"
SJL_RELATIVE = "circadian.social_jet_lag_relative"
SJL_ABSOLUTE = "circadian.social_jet_lag_absolute"
UNITS = {MSW: CLOCK_UNIT, MSF: CLOCK_UNIT, MSFSC: CLOCK_UNIT}

SHIFT_LIKE_JET_LAG = 6.0
SHIFT_LIKE_DAYTIME_SHARE = 0.2
INTERMEDIATE_MSFSC = 4.0  # MSFsc within an hour of 04:00 is an intermediate chronotype
LABEL_REACH = 8.0  # early from 20:00, late until 12:00; between, sleep is in the daytime and gets no label


def _all_missing(reason: str, free: int, work: int) -> tuple[Metric, ...]:
    days = {MSW: work, SDW: work, MSF: free, SDF: free}
    names = (MSW, MSF, SDW, SDF, SDWEEK, MSFSC, CORRECTION, SJL_RELATIVE, SJL_ABSOLUTE)
    return tuple(Metric.missing(n, UNITS.get(n, "hour"), days.get(n, free + work), reason) for n in names)


def mctq_metrics(nights: Sequence[Night], schedule: WorkSchedule) -> tuple[Metric, ...]:
    free = [n for n in nights if schedule.is_free(n.day)]
    work = [n for n in nights if not schedule.is_free(n.day)]
    both = len(free) + len(work)
    if len(free) < MIN_GROUP_DAYS or len(work) < MIN_GROUP_DAYS:
        reason = (
            f"needs at least {MIN_GROUP_DAYS} free-day and {MIN_GROUP_DAYS} work-day nights, "
            f"has {len(free)} and {len(work)}"
        )
        return _all_missing(reason, len(free), len(work))
    msf = circular_mean_hour([n.midpoint_hour for n in free])
    msw = circular_mean_hour([n.midpoint_hour for n in work])
    if msf is None or msw is None:
        return _all_missing("mid-sleep times have no clear mean", len(free), len(work))
    sd_free, sd_work = median([n.duration_hours for n in free]), median([n.duration_hours for n in work])
    sd_week = mctq.weekly_sleep_duration(sd_work, sd_free, schedule.workdays_per_week)
    msfsc = mctq.chronotype_msfsc(msf, sd_work, sd_free, sd_week)
    relative = mctq.social_jet_lag_relative(msw, msf)
    return (
        Metric.of(MSW, msw, CLOCK_UNIT, len(work)),
        Metric.of(MSF, msf, CLOCK_UNIT, len(free)),
        Metric.of(SDW, sd_work, "hour", len(work)),
        Metric.of(SDF, sd_free, "hour", len(free)),
        Metric.of(SDWEEK, sd_week, "hour", both),
        Metric.of(MSFSC, msfsc, CLOCK_UNIT, both),
        Metric.of(CORRECTION, clock_difference(msf, msfsc), "hour", both),
        Metric.of(SJL_RELATIVE, relative, "hour", both),
        Metric.of(SJL_ABSOLUTE, abs(relative), "hour", both),
    )


def chronotype_label(msfsc: float) -> str | None:
    """``early``, ``intermediate`` or ``late`` by the circular distance of MSFsc from 04:00; None for an MSFsc
    between 12:00 and 20:00 (daytime sleep, which the MCTQ's chronotype does not describe)."""
    distance = clock_difference(msfsc, INTERMEDIATE_MSFSC)
    if -1.0 <= distance < 1.0:
        return "intermediate"
    if -LABEL_REACH <= distance < -1.0:
        return "early"
    if 1.0 <= distance < LABEL_REACH:
        return "late"
    return None


def shift_like(metrics: MetricSet) -> bool:
    """Whether the sleep pattern looks like shift work, so that MCTQ's day-work reading does not apply."""
    coverage = metrics.coverage
    if coverage.nights and coverage.daytime_sleeps >= max(1.0, SHIFT_LIKE_DAYTIME_SHARE * coverage.nights):
        return True
    jet_lag = metrics.value(SJL_ABSOLUTE)
    return jet_lag is not None and jet_lag >= SHIFT_LIKE_JET_LAG
