"""The seed's analysis agents and the on-demand service: named entry points over ``RunAnalysis``.

``BehaviorAnalysisAgent.analyze_behavior(user_id, archetype)`` and
``CircadianAnalysisAgent.analyze_circadian(user_id, archetype)`` are ``RunAnalysis`` with the analysis type
fixed. ``OnDemandAnalysisService.analyze(user_id, archetype, analysis_type)`` is for a host that asks for
"an analysis of type X now"; it also reads stored analyses (``get``, ``latest``, ``history``).

They are thin on purpose. Everything a run decides is ``RunAnalysis``'s: incremental or initial fetch (from
the watermark), the archive when Sahha is down, the fallback analyst when the analyst is down, the stored
analysis when the input did not change. The service adds only the reading of past analyses, in a read-only
unit of work, so a host needs one object for both.
"""

from __future__ import annotations

from sahha_sync.application.ports.analysis_results import StoredAnalysis
from sahha_sync.application.ports.unit_of_work import UnitOfWorkFactory
from sahha_sync.application.use_cases._support import require_run_key, require_text
from sahha_sync.application.use_cases.run_analysis import AnalysisOutcome, RunAnalysis
from sahha_sync.domain.analysis import AnalysisType
from sahha_sync.domain.errors import InvalidInputError


class BehaviorAnalysisAgent:
    """``await agent.analyze_behavior(user_id, archetype)``: a behaviour analysis now (``behavior_analysis``)."""

    analysis_type = AnalysisType.BEHAVIOR

    def __init__(self, *, run_analysis: RunAnalysis) -> None:
        self._run_analysis = run_analysis

    async def analyze_behavior(self, user_id: str, archetype: str) -> AnalysisOutcome:
        return await self._run_analysis.run_analysis(user_id, archetype, self.analysis_type)


class CircadianAnalysisAgent:
    """``await agent.analyze_circadian(user_id, archetype)``: a circadian analysis now (``circadian_analysis``)."""

    analysis_type = AnalysisType.CIRCADIAN

    def __init__(self, *, run_analysis: RunAnalysis) -> None:
        self._run_analysis = run_analysis

    async def analyze_circadian(self, user_id: str, archetype: str) -> AnalysisOutcome:
        return await self._run_analysis.run_analysis(user_id, archetype, self.analysis_type)


class OnDemandAnalysisService:
    """``await service.analyze(user_id, archetype, analysis_type)``, and the stored analyses of past runs."""

    def __init__(self, *, run_analysis: RunAnalysis, unit_of_work: UnitOfWorkFactory) -> None:
        self._run_analysis = run_analysis
        self._unit_of_work = unit_of_work

    async def analyze(self, user_id: str, archetype: str, analysis_type: str | AnalysisType) -> AnalysisOutcome:
        """An analysis of ``analysis_type`` now (``behavior``/``circadian``, short or ``*_analysis``)."""
        return await self._run_analysis.run_analysis(user_id, archetype, analysis_type)

    async def get(self, run_id: str) -> StoredAnalysis | None:
        """The analysis a run answered with, or None (unknown run, or a run whose analysis failed)."""
        run = require_text(run_id, "run_id")
        async with self._unit_of_work() as uow:
            return await uow.analysis_results.get(run)

    async def latest(self, user_id: str, archetype: str, analysis_type: str | AnalysisType) -> StoredAnalysis | None:
        """The newest stored analysis of that user, archetype and type, or None."""
        user, kind, atype = require_run_key(user_id, archetype, analysis_type)
        async with self._unit_of_work() as uow:
            return await uow.analysis_results.latest(user, kind, atype.value)

    async def history(
        self,
        user_id: str,
        *,
        archetype: str | None = None,
        analysis_type: str | AnalysisType | None = None,
        limit: int | None = None,
    ) -> list[StoredAnalysis]:
        """The user's stored analyses (of that archetype and type, when given), newest first."""
        user = require_text(user_id, "user_id")
        kind = None if archetype is None else require_text(archetype, "archetype")
        atype = None if analysis_type is None else AnalysisType.parse(analysis_type).value
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise InvalidInputError("limit must be a non-negative integer", field="limit")
        async with self._unit_of_work() as uow:
            return await uow.analysis_results.list_for_user(user, archetype=kind, analysis_type=atype, limit=limit)


__all__ = ["BehaviorAnalysisAgent", "CircadianAnalysisAgent", "OnDemandAnalysisService"]
