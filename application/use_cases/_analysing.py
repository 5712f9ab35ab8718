"""Calling the analyst, and the fallback analyst when the first one fails."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.analyst import Analyst, AnalystError
from sahha_sync.application.ports.clock import Clock
from sahha_sync.application.use_cases._support import describe_error
from sahha_sync.domain.analysis import Analysis, AnalysisInput
from sahha_sync.domain.events import AnalysisFailed, DomainEvent

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class AnalystResult:
    """Either ``analysis`` or ``error``; ``events`` holds an ``AnalysisFailed`` per analyst that failed."""

    analysis: Analysis | None
    events: tuple[DomainEvent, ...]
    fallback_used: bool = False
    error: AnalystError | None = None


class AnalystChain:
    def __init__(self, analyst: Analyst, fallback: Analyst | None = None) -> None:
        self._analyst = analyst
        self._fallback = fallback

    async def analyse(self, run_id: str, analysis_input: AnalysisInput, clock: Clock) -> AnalystResult:
        try:
            return AnalystResult(await self._analyst.analyse(analysis_input), ())
        except AnalystError as exc:
            first_error = exc
            failures: list[DomainEvent] = [_failed(run_id, clock, self._analyst, exc)]
        if self._fallback is None:
            return AnalystResult(None, tuple(failures), error=first_error)
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
            return AnalystResult(None, tuple(failures), error=error)
        note = (
            f"the {self._analyst.name} analyst failed ({type(first_error).__name__}); "
            f"this analysis comes from the fallback {self._fallback.name} analyst"
        )
        marked = dataclasses.replace(analysis, data_quality_notes=(*analysis.data_quality_notes, note))
        return AnalystResult(marked, tuple(failures), fallback_used=True)


def _failed(run_id: str, clock: Clock, analyst: Analyst, exc: AnalystError) -> AnalysisFailed:
    kind, text = describe_error(exc)
    return AnalysisFailed(run_id=run_id, occurred_at=clock.now(), analyst=analyst.name, error_kind=kind, error=text)
