"""An in-memory ``AnalysisResultStore``: one stored analysis per run, kept as JSON text as the SQL table keeps it."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime

from sahha_sync.adapters.memory._erasures import Erasures
from sahha_sync.application.ports.analysis_results import (
    AnalysisResultStore,
    StoredAnalysis,
    decode_analysis,
    encode_analysis,
)
from sahha_sync.domain.errors import InvalidInputError


@dataclass(frozen=True, slots=True)
class StoredAnalysisRow:
    """One row of ``analysis_results``: the analysis serialised, so codec bugs show as they would in SQL."""

    id: int
    run_id: str
    user_id: str
    archetype: str
    analysis_type: str
    created_at: datetime
    reused_from: str | None
    analysis: str

    def stored(self) -> StoredAnalysis:
        return StoredAnalysis(
            run_id=self.run_id,
            user_id=self.user_id,
            archetype=self.archetype,
            analysis_type=self.analysis_type,
            analysis=decode_analysis(json.loads(self.analysis)),
            created_at=self.created_at,
            reused_from=self.reused_from,
        )


def _newest_first(row: StoredAnalysisRow) -> tuple[datetime, int]:
    return (row.created_at, row.id)


class InMemoryAnalysisResultStore(AnalysisResultStore):
    """Rows keyed by ``run_id``; ids increase from 1 and order rows saved at the same time."""

    def __init__(self, erasures: Erasures | None = None) -> None:
        self.erasures = erasures if erasures is not None else Erasures()
        self._rows: dict[str, StoredAnalysisRow] = {}
        self._last_id = 0
        self.transaction_lock = asyncio.Lock()

    async def save(self, result: StoredAnalysis) -> None:
        if result.created_at.utcoffset() is None:
            raise InvalidInputError("created_at must be timezone-aware", field="created_at")
        try:
            text = json.dumps(encode_analysis(result.analysis), sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as exc:
            message = f"the analysis of run {result.run_id} cannot be serialised as JSON: {type(exc).__name__}"
            raise InvalidInputError(message, field="analysis") from exc
        if self.erasures.erased(result.user_id):  # not kept, as the erasure guard skips the row
            return
        stored = self._rows.get(result.run_id)
        if stored is not None:
            row_id = stored.id
        else:
            self._last_id += 1
            row_id = self._last_id
        self._rows[result.run_id] = StoredAnalysisRow(
            id=row_id,
            run_id=result.run_id,
            user_id=result.user_id,
            archetype=result.archetype,
            analysis_type=result.analysis_type,
            created_at=result.created_at,
            reused_from=result.reused_from,
            analysis=text,
        )

    async def get(self, run_id: str) -> StoredAnalysis | None:
        row = self._rows.get(run_id)
        return None if row is None else row.stored()

    async def _newest_first(
        self, user_id: str, archetype: str | None, analysis_type: str | None, limit: int | None
    ) -> list[StoredAnalysis]:
        rows = [
            r
            for r in self._rows.values()
            if r.user_id == user_id
            and (archetype is None or r.archetype == archetype)
            and (analysis_type is None or r.analysis_type == analysis_type)
        ]
        rows.sort(key=_newest_first, reverse=True)
        return [r.stored() for r in rows[:limit]]

    async def delete_user(self, user_id: str) -> int:
        gone = [run_id for run_id, row in self._rows.items() if row.user_id == user_id]
        for run_id in gone:
            del self._rows[run_id]
        return len(gone)

    @property
    def rows(self) -> tuple[StoredAnalysisRow, ...]:
        return tuple(sorted(self._rows.values(), key=lambda r: r.id))

    def snapshot(self) -> dict[str, StoredAnalysisRow]:
        return dict(self._rows)

    def restore(self, state: dict[str, StoredAnalysisRow]) -> None:
        self._rows = dict(state)  # ids are not reused after a rollback, as a serial column's are not
