"""``SqlAnalysisResultStore``: ``analysis_results``, one stored analysis per run (unique ``run_id``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from sahha_sync.adapters.sql._bind import Bind, insert_for, transaction, translated
from sahha_sync.adapters.sql.errors import ErrorKinds
from sahha_sync.adapters.sql.tables import analysis_results as results
from sahha_sync.application.ports.analysis_results import (
    AnalysisResultStore,
    AnalysisResultStoreError,
    AnalysisResultStoreUnavailableError,
    StoredAnalysis,
    decode_analysis,
    encode_analysis,
)
from sahha_sync.domain.errors import InvalidInputError

RESULT_ERRORS = ErrorKinds(AnalysisResultStoreError, AnalysisResultStoreUnavailableError, AnalysisResultStoreError)


def _row(result: StoredAnalysis) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "user_id": result.user_id,
        "archetype": result.archetype,
        "analysis_type": result.analysis_type,
        "input_hash": result.input_hash,
        "analyst": result.analyst,
        "model": result.model,
        "prompt_version": result.prompt_version,
        "analysis": encode_analysis(result.analysis),
        "reused_from": result.reused_from,
        "created_at": result.created_at,
    }


def _stored(row: Any) -> StoredAnalysis:
    return StoredAnalysis(
        run_id=row.run_id,
        user_id=row.user_id,
        archetype=row.archetype,
        analysis_type=row.analysis_type,
        analysis=decode_analysis(row.analysis),
        created_at=row.created_at,
        reused_from=row.reused_from,
    )


class SqlAnalysisResultStore(AnalysisResultStore):
    """The stored analyses on a unit of work's connection (``SqlUnitOfWork.analysis_results``)."""

    def __init__(self, bind: Bind) -> None:
        self._bind = bind

    async def save(self, result: StoredAnalysis) -> None:
        if result.created_at.utcoffset() is None:
            raise InvalidInputError("created_at must be timezone-aware", field="created_at")
        values = _row(result)
        stmt = insert_for(self._bind)(results).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[results.c.run_id], set_={k: stmt.excluded[k] for k in values if k != "run_id"}
        )
        operation = f"save of the analysis of run {result.run_id}"
        async with translated(RESULT_ERRORS, operation), transaction(self._bind, one_statement=True) as connection:
            await connection.execute(stmt)

    async def get(self, run_id: str) -> StoredAnalysis | None:
        found = await self._select(select(results).where(results.c.run_id == run_id), f"read of run {run_id}")
        return found[0] if found else None

    async def _newest_first(
        self, user_id: str, archetype: str | None, analysis_type: str | None, limit: int | None
    ) -> list[StoredAnalysis]:
        query = select(results).where(results.c.user_id == user_id)
        if archetype is not None:
            query = query.where(results.c.archetype == archetype)
        if analysis_type is not None:
            query = query.where(results.c.analysis_type == analysis_type)
        query = query.order_by(results.c.created_at.desc(), results.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        return await self._select(query, f"stored analyses of {user_id}")

    async def delete_user(self, user_id: str) -> int:
        operation = "erasure of a user's stored analyses"
        async with translated(RESULT_ERRORS, operation), transaction(self._bind) as connection:
            result = await connection.execute(delete(results).where(results.c.user_id == user_id))
        return int(result.rowcount or 0)

    async def _select(self, query: Any, operation: str) -> list[StoredAnalysis]:
        async with translated(RESULT_ERRORS, operation), transaction(self._bind, write=False) as connection:
            rows = (await connection.execute(query)).all()
        return [_stored(row) for row in rows]
