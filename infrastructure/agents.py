"""The seed's analysis agents and on-demand service, as handles on a ``SahhaSync``.

``BehaviorAnalysisAgent().analyze_behavior(user_id, archetype)`` and
``CircadianAnalysisAgent().analyze_circadian(user_id, archetype)`` are ``SahhaSync.run_analysis`` with the
analysis type fixed; ``OnDemandAnalysisService().analyze(user_id, archetype, analysis_type)`` is
``run_analysis`` itself, and its ``get``, ``latest`` and ``history`` read the analyses past runs answered with
(``ReadStoredAnalyses``). Everything a run decides is ``RunAnalysis``'s. Each takes the ``SahhaSync`` to use, or
uses the process's shared one, as the accessors do.
"""

from __future__ import annotations

from typing import ClassVar

from sahha_sync.application.use_cases import AnalysisOutcome, ReadStoredAnalyses
from sahha_sync.domain.analysis import AnalysisType
from sahha_sync.infrastructure.accessors import RuntimeHandle, runtime_of
from sahha_sync.infrastructure.delegation import delegate
from sahha_sync.infrastructure.runtime import SahhaSync


class _FixedTypeAgent(RuntimeHandle):
    analysis_type: ClassVar[AnalysisType]

    async def _analyze(self, user_id: str, archetype: str) -> AnalysisOutcome:
        return await self.runtime.run_analysis(user_id, archetype, self.analysis_type)


class BehaviorAnalysisAgent(_FixedTypeAgent):
    """``await agent.analyze_behavior(user_id, archetype)``: a behaviour analysis now (``behavior_analysis``)."""

    analysis_type = AnalysisType.BEHAVIOR

    async def analyze_behavior(self, user_id: str, archetype: str) -> AnalysisOutcome:
        return await self._analyze(user_id, archetype)


class CircadianAnalysisAgent(_FixedTypeAgent):
    """``await agent.analyze_circadian(user_id, archetype)``: a circadian analysis now (``circadian_analysis``)."""

    analysis_type = AnalysisType.CIRCADIAN

    async def analyze_circadian(self, user_id: str, archetype: str) -> AnalysisOutcome:
        return await self._analyze(user_id, archetype)


async def _stored_analyses(handle: RuntimeHandle) -> ReadStoredAnalyses:
    return await handle.runtime.stored_analyses()


class OnDemandAnalysisService(RuntimeHandle):
    """``await service.analyze(user_id, archetype, analysis_type)``, and the stored analyses of past runs."""

    analyze = delegate(runtime_of, SahhaSync.run_analysis)
    get = delegate(_stored_analyses, ReadStoredAnalyses.get)
    latest = delegate(_stored_analyses, ReadStoredAnalyses.latest)
    history = delegate(_stored_analyses, ReadStoredAnalyses.history)
