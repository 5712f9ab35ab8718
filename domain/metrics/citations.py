"""Whether an insight's figures are the computed ones: the check an insight must pass to be kept.

An insight passes when it cites, by name, a metric it was given that has a value, and every number in its text
is a figure it was given: a metric's value (rounded as shown, signed or not, or converted between minutes and
hours, a day and a week, a fraction and a percent), the number of days a metric rests on, a day number
(``day 12``) or a figure of the daily digest; and, when the text has any number, at least one of them is the
cited metric's own value. Clock times (``23:45``, ``11:45 pm``) are compared on the clock, to the minute.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from sahha_sync.domain.analysis import Insight
from sahha_sync.domain.metrics.model import CLOCK_UNIT, Metric, MetricSet

CLOCK = re.compile(r"\b(\d{1,2}):(\d{2})(?:\s*([ap])\.?m\b\.?)?", re.IGNORECASE)
DAY_LABEL = re.compile(r"\bdays?\s+\d+b?(?:\s*(?:-|\u2013|to|and)\s*\d+b?)?", re.IGNORECASE)
NUMBER = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w])|(?<![\w.])\d+(?:\.\d+)?")
RELATIVE_TOLERANCE = 0.01
CLOCK_TOLERANCE_MINUTES = 1.0


def _representations(metric: Metric) -> tuple[float, ...]:
    """The ways a metric's value may be written: as is, minutes <-> hours, per day -> per week, fraction -> %."""
    if metric.value is None or metric.unit == CLOCK_UNIT:
        return ()
    v = abs(metric.value)
    return (v, v / 60, v * 60, v * 7, v * 7 / 60, v * 100)


def _agrees(written: str, value: float) -> bool:
    number = float(written.replace(",", ""))
    decimals = len(written.split(".", 1)[1]) if "." in written else 0
    tolerance = max(0.5 * 10.0**-decimals, RELATIVE_TOLERANCE * abs(value)) + 1e-9
    return abs(number - value) <= tolerance


def _clock_minutes(match: re.Match[str]) -> float:
    hour, minute, half = int(match.group(1)), int(match.group(2)), (match.group(3) or "").lower()
    if half == "p" and hour < 12:
        hour += 12
    elif half == "a" and hour == 12:
        hour = 0
    return float(hour * 60 + minute)


def _clock_agrees(minutes: float, metric: Metric) -> bool:
    if metric.value is None or metric.unit != CLOCK_UNIT:
        return False
    difference = abs(minutes - metric.value * 60) % (24 * 60)
    return min(difference, 24 * 60 - difference) <= CLOCK_TOLERANCE_MINUTES


def _counts(metrics: MetricSet) -> set[float]:
    coverage = metrics.coverage
    counts = {float(m.days) for m in metrics.all_metrics()}
    return counts | {float(coverage.days_with_data), float(coverage.span_days), float(coverage.nights)}


def _figures_of(numbers: list[str], figures: list[float], counts: set[float]) -> list[str] | None:
    """The numbers that stand for figures (a whole number equal to a count of days is read as that count);
    None when a number is neither a figure nor a count."""
    values = []
    for written in numbers:
        is_count = "." not in written and float(written.replace(",", "")) in counts
        if any(_agrees(written, figure) for figure in figures):
            if not is_count:
                values.append(written)
        elif not is_count:
            return None
    return values


def check_insight(insight: Insight, metrics: MetricSet, *, digest_figures: Iterable[float] = ()) -> str | None:
    """None when ``insight`` passes (see the module); else why not, in words that name no value."""
    cited = metrics.get(insight.metric) if insight.metric else None
    if cited is None:
        return "it cites no metric it was given"
    if cited.value is None:
        return "it cites a metric that has no value"
    given = [m for m in metrics.all_metrics() if m.value is not None]
    text = DAY_LABEL.sub(" ", insight.text)
    clocks = [_clock_minutes(match) for match in CLOCK.finditer(text)]
    numbers = NUMBER.findall(CLOCK.sub(" ", text))
    if any(not any(_clock_agrees(minutes, m) for m in given) for minutes in clocks):
        return "a clock time in its text is not one of the computed figures"
    figures = [r for m in given for r in _representations(m)] + [abs(f) for f in digest_figures]
    values = _figures_of(numbers, figures, _counts(metrics))
    if values is None:
        return "a number in its text is not one of the computed figures"
    own = any(_clock_agrees(minutes, cited) for minutes in clocks) or any(
        _agrees(written, figure) for written in numbers for figure in _representations(cited)
    )
    if (clocks or values) and not own:
        return "its figures do not include the value of the metric it cites"
    return None


def digest_figures(rows: Iterable[Iterable[str]]) -> tuple[float, ...]:
    """The numeric cells of a digest's rows (day numbers, weekdays and clock times left out)."""
    figures = []
    for row in rows:
        for cell in list(row)[3:]:
            try:
                number = float(cell)
            except ValueError:
                continue
            if math.isfinite(number):
                figures.append(number)
    return tuple(figures)
