"""How a run gets its analysis: the stored one when the input did not change, else the analyst, falling back to
the fallback analyst when it fails; and the degradations (Sahha down → the archive is analysed and the analysis
says so; the analyst down → the fallback analyst, marked; both down → ``AnalysisUnavailableError``).

Reuse asks the analyst for the hash of the input it would be given (``HashingAnalyst.input_hash``: the
computed metrics and digest, the prompt version and the model). When it equals the hash of the user's last
stored analysis of the same archetype and type, made by the same analyst, that analysis is returned and the
analyst is not called. An analyst without ``input_hash`` is always called.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from datetime import datetime

from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.analysis_results import StoredAnalysis
from sahha_sync.application.ports.analyst import Analyst, AnalystError, AnalystUnavailableError, HashingAnalyst
from sahha_sync.application.ports.clock import Clock
from sahha_sync.application.use_cases._support import describe_error
from sahha_sync.domain.analysis import Analysis, AnalysisInput
from sahha_sync.domain.events import AnalysisCompleted, AnalysisFailed, DomainEvent, HealthDataFetchFailed
from sahha_sync.domain.metrics import stale_data_note

log = get_logger(__name__)


class AnalysisUnavailableError(AnalystUnavailableError):
    """Sahha and the analyst were both down: no analysis was made. Trying again later may work.

    ``source_error_kind`` and ``analyst_error_kind`` name the two failures (error classes).
    """

    def __init__(self, message: str, *, source_error_kind: str, analyst_error_kind: str) -> None:
        super().__init__(message)
        self.source_error_kind = source_error_kind
        self.analyst_error_kind = analyst_error_kind


@dataclass(frozen=True, slots=True)
class AnalysisChoice:
    """Either ``analysis`` or ``error``; ``events`` holds an ``AnalysisFailed`` per analyst that failed."""

    analysis: Analysis | None
    events: tuple[DomainEvent, ...] = ()
    fallback_used: bool = False
    reused_from: str | None = None
    error: AnalystError | None = None


class ReuseOrAnalyse:
    def __init__(self, analyst: Analyst, fallback: Analyst | None = None) -> None:
        self._analyst = analyst
        self._fallback = fallback

    async def analyse(
        self,
        run_id: str,
        analysis_input: AnalysisInput,
        *,
        previous: StoredAnalysis | None,
        source_failure: HealthDataFetchFailed | None,
        clock: Clock,
    ) -> AnalysisChoice:
        reusable = await self._reusable(run_id, analysis_input, previous)
        if reusable is not None:
            log.info("run_analysis.result_reused", run_id=run_id, reused_from=reusable.produced_by)
            analysis = _noting_staleness(reusable.analysis, analysis_input)
            return AnalysisChoice(analysis, reused_from=reusable.produced_by)
        if source_failure is None:
            return await self._with_fallback(run_id, analysis_input, clock)
        # Sahha is down and the archive stands in: only the analyst itself may answer (no double degradation).
        try:
            analysis = await self._analyst.analyse(analysis_input)
        except AnalystError as exc:
            failed = (_failed(run_id, clock, self._analyst, exc),)
            return AnalysisChoice(None, failed, error=_both_down(self._analyst, source_failure, exc))
        return AnalysisChoice(_noting_staleness(analysis, analysis_input))

    async def _with_fallback(self, run_id: str, analysis_input: AnalysisInput, clock: Clock) -> AnalysisChoice:
        try:
            return AnalysisChoice(await self._analyst.analyse(analysis_input))
        except AnalystError as exc:
            first_error = exc
            failures: list[DomainEvent] = [_failed(run_id, clock, self._analyst, exc)]
        if self._fallback is None:
            return AnalysisChoice(None, tuple(failures), error=first_error)
        log.warning("run_analysis.analyst_failed", run_id=run_id, analyst=self._analyst.name, fallback=True)
        try:
            analysis = await self._fallback.analyse(analysis_input)
        except AnalystError as exc:
            failures.append(_failed(run_id, clock, self._fallback, exc))
            error = AnalystError(
                f"analysis failed: {self._analyst.name} raised {type(first_error).__name__}, "
                f"then the fallback {self._fallback.name} raised {type(exc).__name__}"
            )
            error.__cause__ = exc
            return AnalysisChoice(None, tuple(failures), error=error)
        note = (
            f"the {self._analyst.name} analyst failed ({type(first_error).__name__}); "
            f"this analysis comes from the fallback {self._fallback.name} analyst"
        )
        marked = dataclasses.replace(analysis, data_quality_notes=(*analysis.data_quality_notes, note))
        return AnalysisChoice(marked, tuple(failures), fallback_used=True)

    async def _reusable(
        self, run_id: str, analysis_input: AnalysisInput, previous: StoredAnalysis | None
    ) -> StoredAnalysis | None:
        if previous is None or not isinstance(self._analyst, HashingAnalyst):
            return None
        if previous.analyst != self._analyst.name:
            return None
        try:
            # the hash computes the metrics, milliseconds of CPU: in a thread, so the host's event loop goes on
            current = await asyncio.to_thread(self._analyst.input_hash, analysis_input)
        except Exception as exc:  # a hash that cannot be computed only means no reuse; the analyst is called
            log.warning("run_analysis.input_hash_failed", run_id=run_id, error_kind=type(exc).__name__)
            return None
        return previous if current == previous.input_hash else None


def _failed(run_id: str, clock: Clock, analyst: Analyst, exc: AnalystError) -> AnalysisFailed:
    kind, text = describe_error(exc)
    return AnalysisFailed(run_id=run_id, occurred_at=clock.now(), analyst=analyst.name, error_kind=kind, error=text)


def _noting_staleness(analysis: Analysis, analysis_input: AnalysisInput) -> Analysis:
    """``analysis`` with the stale-data note when the archive stood in for Sahha (once, whatever the analyst)."""
    if analysis_input.data_source == "sahha":
        return analysis
    note = stale_data_note(analysis_input.stale_as_of)
    if note in analysis.data_quality_notes:
        return analysis
    return dataclasses.replace(analysis, data_quality_notes=(note, *analysis.data_quality_notes))


def _both_down(analyst: Analyst, source_failure: HealthDataFetchFailed, error: AnalystError) -> AnalystError:
    analyst_kind = type(error).__name__
    both = AnalysisUnavailableError(
        f"no analysis: Sahha is unavailable ({source_failure.error_kind}) and the {analyst.name} analyst failed "
        f"({analyst_kind}); an analysis of archived data is only made by the analyst itself, so try again later",
        source_error_kind=source_failure.error_kind,
        analyst_error_kind=analyst_kind,
    )
    both.__cause__ = error
    return both


def completed_event(run_id: str, now: datetime, analysis: Analysis, *, reused: bool) -> AnalysisCompleted:
    """``AnalysisCompleted``; a reused result spent no tokens in this run."""
    return AnalysisCompleted(
        run_id=run_id,
        occurred_at=now,
        analyst=analysis.analyst,
        model=analysis.model,
        prompt_version=analysis.prompt_version,
        input_hash=analysis.input_hash,
        prompt_tokens=0 if reused else analysis.prompt_tokens,
        completion_tokens=0 if reused else analysis.completion_tokens,
        reused=reused,
    )
