"""What each metric is, in one line: the glossary a prompt carries for the metrics it gives (and the README's).

Patterns are ``fnmatch`` patterns over metric names; ``glossary_for(names)`` keeps the entries that match.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

GLOSSARY: tuple[tuple[str, str], ...] = (
    ("behavior.*.level", "median of the days"),
    ("*.trend", "least-squares slope per day, given only from 14 days on and when its 95 % interval excludes "
     "zero; otherwise n/a (no clear trend)"),
    ("behavior.*.work_days", "median of the work days (by the schedule)"),
    ("behavior.*.free_days", "median of the free days (by the schedule)"),
    ("behavior.*.free_minus_work", "free-day median minus work-day median"),
    ("behavior.*.day_to_day_cv", "coefficient of variation from day to day (0 = the same every day)"),
    ("behavior.intensity_minutes.*", "moderate plus vigorous activity minutes a day"),
    ("circadian.*.mean", "circular mean of the main sleeps' local clock times (naps left out)"),
    ("circadian.*.spread", "circular standard deviation of those clock times, hours"),
    ("circadian.mid_sleep_work_days", "MSW (MCTQ): mean mid-sleep of nights before work days"),
    ("circadian.mid_sleep_free_days", "MSF (MCTQ): mean mid-sleep of nights before free days"),
    ("circadian.sleep_duration_work_days", "SDw (MCTQ): median sleep onset to sleep end before work days, hours"),
    ("circadian.sleep_duration_free_days", "SDf (MCTQ): median sleep onset to sleep end before free days, hours"),
    ("circadian.sleep_duration_week", "SDweek (MCTQ): (SDw x work days + SDf x free days) / 7, hours"),
    ("circadian.chronotype_msfsc", "MSFsc, the MCTQ chronotype: MSF, less (SDf - SDweek) / 2 when SDf > SDw; "
     "about 04:00 is intermediate, earlier is an earlier chronotype"),
    ("circadian.chronotype_correction", "MSF - MSFsc in hours; 0 when no sleep-debt correction applies"),
    ("circadian.social_jet_lag_relative", "MSF - MSW, signed hours: positive = later mid-sleep on free days"),
    ("circadian.social_jet_lag_absolute", "|MSF - MSW|, hours (Wittmann's social jet lag)"),
    ("circadian.midpoint_shift", "mean absolute change of mid-sleep between consecutive nights, hours"),
    ("circadian.sleep_duration.*", "minutes asleep a night: Sahha's sleep_duration where sent, else the main sleep"),
    ("circadian.sleep_efficiency.*", "percent of the time in bed spent asleep"),
    ("circadian.resting_heart_rate.*", "Sahha's heart_rate_resting, bpm"),
    ("circadian.sahha_sleep_regularity.latest", "Sahha's own sleep regularity score in percent (newest reading); "
     "not Phillips' Sleep Regularity Index"),
    ("circadian.sahha_sleep_debt.latest", "Sahha's own sleep debt, hours (newest reading)"),
    ("scores.*.level", "median of Sahha's daily score, 0-1 (1 is best)"),
    ("scores.*.factor.*", "median score of one factor behind a Sahha score, 0-1 (1 is best)"),
)  # fmt: skip


def glossary_for(names: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """The glossary entries whose pattern matches at least one of ``names``, in glossary order."""
    given = list(names)
    return tuple((pattern, text) for pattern, text in GLOSSARY if any(fnmatchcase(n, pattern) for n in given))
