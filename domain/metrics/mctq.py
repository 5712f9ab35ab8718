"""The Munich ChronoType Questionnaire's formulas, on hours: clock times in ``[0, 24)``, durations in hours.

The definitions are those of Roenneberg, Wirz-Justice & Merrow (2003) and Roenneberg et al. (2012), with social
jet lag after Wittmann et al. (2006), as the ``mctq`` R package (rOpenSci) documents them: ``sdu`` (sleep
duration), ``msl`` (local time of mid-sleep), ``sd_week`` (average weekly sleep duration), ``msf_sc``
(chronotype: mid-sleep on free days, corrected for sleep debt) and ``sjl_rel`` / ``sjl`` (relative and absolute
social jet lag, taken over the shorter interval between the two mid-sleeps). W = work days, F = free days.
"""

from __future__ import annotations

from sahha_sync.domain.metrics.stats import clock_difference, wrap_hour

DAYS_PER_WEEK = 7


def sleep_duration(onset: float, end: float) -> float:
    """``SD = SE - SO`` on the 24-hour clock (a sleep from 23:00 to 08:00 lasts 9 hours)."""
    return (end - onset) % 24.0


def mid_sleep(onset: float, duration: float) -> float:
    """``MS = SO + SD / 2`` on the 24-hour clock."""
    return wrap_hour(onset + duration / 2)


def weekly_sleep_duration(work: float, free: float, workdays: int) -> float:
    """``SDweek = (SDw * WD + SDf * FD) / 7`` with ``FD = 7 - WD``."""
    return (work * workdays + free * (DAYS_PER_WEEK - workdays)) / DAYS_PER_WEEK


def corrects_for_sleep_debt(work: float, free: float) -> bool:
    """MSFsc corrects MSF only when sleep on free days is longer than on work days (``SDf > SDw``)."""
    return free > work


def chronotype_msfsc(msf: float, work: float, free: float, week: float) -> float:
    """``MSFsc = MSF`` when ``SDf <= SDw``, else ``MSF - (SDf - SDweek) / 2``."""
    if not corrects_for_sleep_debt(work, free):
        return wrap_hour(msf)
    return wrap_hour(msf - (free - week) / 2)


def social_jet_lag_relative(msw: float, msf: float) -> float:
    """``SJLrel = MSF - MSW`` by the shorter way round the clock, in ``[-12, 12)``: positive when free-day
    mid-sleep is later."""
    return clock_difference(msf, msw)


def social_jet_lag_absolute(msw: float, msf: float) -> float:
    """``SJL = |MSF - MSW|`` by the shorter way round the clock."""
    return abs(social_jet_lag_relative(msw, msf))
