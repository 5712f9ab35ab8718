"""The versioned prompt: computed metrics, their glossary and a compact per-day digest, within a token budget.

The model is never told the raw payload, the user's id or calendar dates: days are numbered (day 1 is the first
day with data) and carry their weekday and kind (work or free day). Tokens are estimated as characters / 4
(close enough for English and figures, and on the safe side for the compact digest). When the whole prompt
would not fit the budget, the oldest digest days are left out first; the metrics, computed over all days, and
their glossary always go in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sahha_sync.domain.analysis import AnalysisType
from sahha_sync.domain.metrics import AnalysisFacts, Metric, MetricSet, data_quality_notes, glossary_for

PROMPT_VERSION = "analysis-prompt-2"
DEFAULT_TOKEN_BUDGET = 6000
CHARS_PER_TOKEN = 4
MAX_ARCHETYPE_CHARS = 80  # the host's label goes into the system prompt: one short line, no double quotes

SYSTEM_PROMPT = f"""You are a careful health-data analyst (prompt {PROMPT_VERSION}).
You are given metrics that code computed from a person's wearable data (Sahha biomarkers and scores), a glossary
of those metrics and a compact per-day digest. Write a {{focus}} analysis.
The person's profile is labelled "{{archetype}}".
Rules:
- Use only the figures given. Never invent a number; if a metric is n/a, say the data do not show it.
- Every insight rests on one metric that has a value, and names it exactly in "metric"
  (e.g. "behavior.steps.level"). An insight without such a metric is discarded.
- Every number in an insight is a figure given above, rounded as shown (clock times as HH:MM); an insight with
  any other number is discarded. Put targets and rules of thumb in recommendations, not in insights.
- Days are numbered (day 1 is the first day with data) and have weekdays; there are no calendar dates.
- Recommendations are practical, specific and non-medical; suggest a professional for anything clinical.
- Data-quality notes say what limits the analysis (missing days, few nights, stale data).
- Keep the summary to 2-4 sentences."""

_FOCUS = {
    AnalysisType.BEHAVIOR.value: "behaviour (activity, movement, sedentary time, and the scores behind them)",
    AnalysisType.CIRCADIAN.value: "circadian (sleep timing and regularity, chronotype, social jet lag, recovery)",
}


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def metric_line(metric: Metric) -> str:
    if metric.value is None:
        return f"{metric.name} = n/a ({metric.reason}; {metric.days} days)"
    unit = "" if metric.unit == "hour_of_day" else f" {metric.unit}"
    return f"{metric.name} = {metric.display()}{unit} ({metric.days} days)"


def _metric_section(metrics: MetricSet) -> str:
    circadian_first = metrics.analysis_type == AnalysisType.CIRCADIAN.value
    groups = (metrics.circadian, metrics.behavior) if circadian_first else (metrics.behavior, metrics.circadian)
    lines = [metric_line(m) for group in groups for m in group]
    for summary in metrics.scores:
        lines.extend(metric_line(m) for m in summary.metrics())
        lines.append(f"scores.{summary.type}.latest_state = {summary.latest_state or 'n/a'}")
    return "\n".join(lines)


def _glossary_section(metrics: MetricSet) -> str:
    entries = glossary_for(m.name for m in metrics.all_metrics())
    lines = [f"{pattern}: {text}" for pattern, text in entries]
    lines.append("hour_of_day values are local clock times, shown as HH:MM")
    return "\n".join(lines)


def _context(metrics: MetricSet) -> str:
    coverage = metrics.coverage
    lines = [
        f"analysis_type: {metrics.analysis_type}",
        f"days_with_data: {coverage.days_with_data} (day 1 to day {coverage.span_days})",
        f"main_sleeps: {coverage.nights}",
        f"schedule: {metrics.schedule}",
        f"data_source: {metrics.data_source}",
    ]
    lines.extend(f"note: {note}" for note in data_quality_notes(metrics, dated=False))
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Prompt:
    system: str
    user: str
    digest_days: int
    omitted_days: int

    @property
    def estimated_tokens(self) -> int:
        return estimate_tokens(self.system) + estimate_tokens(self.user)


def _user_message(facts: AnalysisFacts, digest_text: str, omitted: int) -> str:
    omitted_line = f"\n({omitted} older days left out of the digest; the metrics cover them)" if omitted else ""
    return (
        f"## Context\n{_context(facts.metrics)}\n\n## Glossary\n{_glossary_section(facts.metrics)}\n\n"
        f"## Metrics\n{_metric_section(facts.metrics)}\n\n"
        f"## Daily digest (oldest first; kind W = work day, F = free day; '-' = no data)\n{digest_text}{omitted_line}"
    )


def build_prompt(facts: AnalysisFacts, *, token_budget: int = DEFAULT_TOKEN_BUDGET) -> Prompt:
    """The system and user messages for ``facts``; the digest keeps the newest days that fit the budget."""
    metrics = facts.metrics
    focus = _FOCUS.get(metrics.analysis_type, metrics.analysis_type)
    archetype = " ".join(metrics.archetype.replace('"', "'").split())[:MAX_ARCHETYPE_CHARS]
    system = SYSTEM_PROMPT.format(focus=focus, archetype=archetype)
    total = len(facts.digest.rows)
    keep = total
    while True:
        digest = facts.digest.newest(keep)
        user = _user_message(facts, digest.to_text(), total - keep)
        prompt = Prompt(system, user, keep, total - keep)
        if prompt.estimated_tokens <= token_budget or keep == 0:
            return prompt
        over_chars = (prompt.estimated_tokens - token_budget) * CHARS_PER_TOKEN
        row_chars = max(1, len(digest.to_text()) // max(1, keep + 1))
        keep = max(0, keep - max(1, math.ceil(over_chars / row_chars)))
