"""Findings: deterministic insights from computed metrics, each citing its metric, and what to do about them.

Every number in an insight is the figure of a metric (``citations`` checks it); thresholds and advice go in the
recommendation. The rules themselves are in ``behavior_findings`` and ``circadian_findings``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sahha_sync.domain.analysis import Insight
from sahha_sync.domain.metrics.model import Metric, MetricSet


@dataclass(frozen=True, slots=True)
class Finding:
    insight: Insight
    recommendation: str | None = None


Rule = Callable[[MetricSet], Finding | None]


def known(metrics: MetricSet, name: str) -> Metric | None:
    """The metric called ``name`` when it has a value."""
    metric = metrics.get(name)
    return metric if metric is not None and metric.value is not None else None


def over_days(metric: Metric, what: str = "day") -> str:
    return f"over {metric.days} {what}{'s' if metric.days != 1 else ''}"


def beyond(
    name: str,
    words: Callable[[float], str],
    advice: str | None = None,
    *,
    at_least: float | None = None,
    under: float | None = None,
) -> Rule:
    """A finding about metric ``name`` when its value is ``at_least`` a limit or ``under`` one (or always, with
    neither): ``words(value)`` is the insight, ``advice`` the recommendation."""

    def rule(metrics: MetricSet) -> Finding | None:
        m = known(metrics, name)
        if m is None or m.value is None:
            return None
        if (at_least is not None and m.value < at_least) or (under is not None and m.value >= under):
            return None
        return Finding(Insight(words(m.value), m.name), advice)

    return rule


def level_finding(name: str, words: Callable[[float, Metric], str], advice: str, *, advise_under: float) -> Rule:
    """A finding about metric ``name`` whenever it has a value, with ``advice`` when that is under ``advise_under``;
    ``words(value, metric)`` is the insight."""

    def rule(metrics: MetricSet) -> Finding | None:
        m = known(metrics, name)
        if m is None or m.value is None:
            return None
        return Finding(Insight(words(m.value, m), m.name), advice if m.value < advise_under else None)

    return rule


def trend_finding(name: str, label: str, unit: str) -> Rule:
    """A trend is told only when it is clear (a trend metric has a value only when its interval excludes zero)."""

    def rule(metrics: MetricSet) -> Finding | None:
        m = known(metrics, name)
        if m is None or m.value is None:
            return None
        direction = "rising" if m.value > 0 else "falling"
        text = f"{label}: {direction} by {abs(m.value):.1f} {unit} a day {over_days(m)}, a clear trend."
        return Finding(Insight(text, m.name))

    return rule


def weakest_factor(score_type: str) -> Rule:
    def rule(metrics: MetricSet) -> Finding | None:
        summary = next((s for s in metrics.scores if s.type == score_type), None)
        if summary is None or not summary.weakest_factors or summary.level.value is None:
            return None
        factor = summary.weakest_factors[0]
        label = factor.name.rsplit(".", 1)[-1].replace("_", " ")
        text = (
            f"The {score_type.replace('_', ' ')} score had a median of {summary.level.value:.2f}"
            f" ({summary.latest_state or 'no state'} latest); its weakest factor is {label} ({factor.display()})."
        )
        return Finding(Insight(text, factor.name))

    return rule


def findings(metrics: MetricSet, rules: tuple[Rule, ...]) -> tuple[Finding, ...]:
    return tuple(f for f in (rule(metrics) for rule in rules) if f is not None)
