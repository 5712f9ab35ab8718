"""``ReadStoredAnalyses``: the analyses past runs answered with, as ``RunAnalysis`` stored them.

Each read opens its own unit of work and commits nothing; arguments are checked as ``RunAnalysis`` checks them,
so a bad one is an ``InvalidInputError`` naming the field.
"""

from __future__ import annotations

from sahha_sync.application.ports.analysis_results import StoredAnalysis
from sahha_sync.application.ports.unit_of_work import UnitOfWorkFactory
from sahha_sync.application.use_cases._support import require_run_key, require_text
from sahha_sync.domain.analysis import AnalysisType
from sahha_sync.domain.errors import InvalidInputError


class ReadStoredAnalyses:
    """``get(run_id)``, ``latest(user_id, archetype, analysis_type)`` and ``history(user_id, ...)``."""

    def __init__(self, *, unit_of_work: UnitOfWorkFactory) -> None:
        self._unit_of_work = unit_of_work

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
