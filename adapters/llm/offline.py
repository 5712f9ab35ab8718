"""The offline analyst: a deterministic analysis from computed metrics, with no model and no network.

It is the embedded default and the fallback when the model service is down. Its insights are the domain's
findings (``sahha_sync.domain.metrics``): every sentence is built from a figure the code computed, and every
insight names the metric it rests on.
"""

from __future__ import annotations

import asyncio

from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.analyst import AnalystError, HashingAnalyst
from sahha_sync.domain.analysis import Analysis, AnalysisInput, AnalysisType
from sahha_sync.domain.metrics import (
    BEHAVIOR_RULES,
    CIRCADIAN_RULES,
    AnalysisFacts,
    Finding,
    MetricSet,
    compute_facts,
    data_quality_notes,
    findings,
)

log = get_logger(__name__)

OFFLINE_MODEL = "offline-rules"
OFFLINE_VERSION = "offline-2"
_SUMMARY_FINDINGS = 3


def _summary(metrics: MetricSet, found: tuple[Finding, ...]) -> str:
    coverage = metrics.coverage
    kind = "Circadian" if metrics.analysis_type == AnalysisType.CIRCADIAN.value else "Behaviour"
    if coverage.days_with_data == 0:
        return f"{kind} analysis: there is no data for this period, so nothing could be measured."
    scope = f"{kind} analysis of {coverage.days_with_data} day(s) of data ({coverage.first_day} to {coverage.last_day})"
    if not found:
        return f"{scope}: too little of the relevant data to measure anything reliably."
    return f"{scope}. " + " ".join(f.insight.text for f in found[:_SUMMARY_FINDINGS])


def offline_analysis(facts: AnalysisFacts, *, model: str = OFFLINE_MODEL, version: str = OFFLINE_VERSION) -> Analysis:
    metrics = facts.metrics
    rules = CIRCADIAN_RULES if metrics.analysis_type == AnalysisType.CIRCADIAN.value else BEHAVIOR_RULES
    found = findings(metrics, rules)
    recommendations = tuple(dict.fromkeys(f.recommendation for f in found if f.recommendation))
    return Analysis(
        summary=_summary(metrics, found),
        analyst=OfflineAnalyst.name,
        model=model,
        prompt_version=version,
        input_hash=facts.input_hash(prompt_version=version, model=model),
        insights=tuple(f.insight for f in found),
        recommendations=recommendations,
        data_quality_notes=data_quality_notes(metrics),
        metrics=metrics.to_dict(),
    )


class OfflineAnalyst(HashingAnalyst):
    """A deterministic ``Analyst``: equal inputs give equal analyses, with no I/O."""

    name = "offline"

    def __init__(self) -> None:
        self.model = OFFLINE_MODEL
        self.prompt_version = OFFLINE_VERSION
        self._last: tuple[AnalysisInput, AnalysisFacts] | None = None

    def input_hash(self, analysis_input: AnalysisInput) -> str:
        """The ``input_hash`` an analysis of ``analysis_input`` would carry (without analysing it)."""
        return self._facts(analysis_input).input_hash(prompt_version=self.prompt_version, model=self.model)

    def _facts(self, analysis_input: AnalysisInput) -> AnalysisFacts:
        """The facts of ``analysis_input``; those of the last input asked for are kept, so a run whose input hash
        differed from the stored analysis's does not compute its metrics twice."""
        last = self._last
        if last is not None and last[0] is analysis_input:
            return last[1]
        facts = compute_facts(analysis_input)
        self._last = (analysis_input, facts)
        return facts

    async def analyse(self, analysis_input: AnalysisInput) -> Analysis:
        try:
            # Computing the metrics takes milliseconds of CPU: in a thread, so the host's event loop goes on.
            analysis = await asyncio.to_thread(self._analyse, analysis_input)
        except Exception as exc:  # the port promises AnalystError only
            log.error("analyst.offline_failed", error_type=type(exc).__name__)
            raise AnalystError(f"offline analysis failed: {type(exc).__name__}") from exc
        log.info("analyst.offline_completed", insights=len(analysis.insights), input_hash=analysis.input_hash)
        return analysis

    def _analyse(self, analysis_input: AnalysisInput) -> Analysis:
        return offline_analysis(self._facts(analysis_input), model=self.model, version=self.prompt_version)
