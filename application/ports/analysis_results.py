"""Stored analyses: the analysis each completed run answered with, so a host can read past analyses.

One row per run (``analysis_results``), written in the same unit of work as the run's events. A run that
reused an earlier result (same input hash) stores it again under its own ``run_id``, with ``reused_from``
naming the run whose analyst produced it. ``encode_analysis``/``decode_analysis`` give the JSON form the
adapters keep.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol, runtime_checkable

from sahha_sync.domain.analysis import Analysis, Insight
from sahha_sync.domain.errors import InvalidInputError, SahhaSyncError

ANALYSIS_JSON_VERSION = 1


class AnalysisResultStoreError(SahhaSyncError):
    """The stored analyses could not be read or written."""


class AnalysisResultStoreUnavailableError(AnalysisResultStoreError):
    """The database could not be reached or the connection was lost; retrying may work."""

    retryable: ClassVar[bool] = True


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredAnalysis:
    """The analysis of one run, with the key it is found by (``user_id``, ``archetype``, ``analysis_type``)."""

    run_id: str
    user_id: str
    archetype: str
    analysis_type: str
    analysis: Analysis
    created_at: datetime
    reused_from: str | None = None  # the run whose analyst produced ``analysis``, when this run reused it

    @property
    def input_hash(self) -> str:
        return self.analysis.input_hash

    @property
    def analyst(self) -> str:
        return self.analysis.analyst

    @property
    def model(self) -> str:
        return self.analysis.model

    @property
    def prompt_version(self) -> str:
        return self.analysis.prompt_version

    @property
    def produced_by(self) -> str:
        """The run whose analyst call produced the analysis (this run, unless it was reused)."""
        return self.reused_from or self.run_id


def encode_analysis(analysis: Analysis) -> dict[str, Any]:
    """The JSON-ready form of ``analysis``, metrics included."""
    return {
        "version": ANALYSIS_JSON_VERSION,
        "summary": analysis.summary,
        "analyst": analysis.analyst,
        "model": analysis.model,
        "prompt_version": analysis.prompt_version,
        "input_hash": analysis.input_hash,
        "insights": [{"text": i.text, "metric": i.metric} for i in analysis.insights],
        "recommendations": list(analysis.recommendations),
        "data_quality_notes": list(analysis.data_quality_notes),
        "prompt_tokens": analysis.prompt_tokens,
        "completion_tokens": analysis.completion_tokens,
        "dropped_insights": analysis.dropped_insights,
        "metrics": dict(analysis.metrics),
    }


def decode_analysis(data: Mapping[str, Any]) -> Analysis:
    """The ``Analysis`` that ``encode_analysis`` gave ``data`` for."""
    version = data.get("version", ANALYSIS_JSON_VERSION)
    if version != ANALYSIS_JSON_VERSION:
        raise InvalidInputError(f"stored analysis version {version} is not known to this library", field="version")
    try:
        return Analysis(
            summary=data["summary"],
            analyst=data["analyst"],
            model=data["model"],
            prompt_version=data["prompt_version"],
            input_hash=data["input_hash"],
            insights=tuple(Insight(i["text"], i.get("metric")) for i in data.get("insights", ())),
            recommendations=tuple(data.get("recommendations", ())),
            data_quality_notes=tuple(data.get("data_quality_notes", ())),
            prompt_tokens=int(data.get("prompt_tokens", 0)),
            completion_tokens=int(data.get("completion_tokens", 0)),
            dropped_insights=int(data.get("dropped_insights", 0)),
            metrics=dict(data.get("metrics", {})),
        )
    except (KeyError, TypeError) as exc:
        raise InvalidInputError(f"stored analysis lacks a field: {exc}", field="analysis") from exc


@runtime_checkable
class AnalysisResultStore(Protocol):
    """``analysis_results``: one stored analysis per run."""

    @abstractmethod
    async def save(self, result: StoredAnalysis) -> None:
        """Store the analysis of ``result.run_id``; saving the same run again replaces its row."""

    @abstractmethod
    async def get(self, run_id: str) -> StoredAnalysis | None:
        """The analysis of a run, or None."""

    async def latest(self, user_id: str, archetype: str, analysis_type: str) -> StoredAnalysis | None:
        """The newest stored analysis of that user, archetype and type (greatest ``created_at``; of equal
        times, the one saved last), or None."""
        found = await self.list_for_user(user_id, archetype=archetype, analysis_type=analysis_type, limit=1)
        return found[0] if found else None

    async def list_for_user(
        self,
        user_id: str,
        *,
        archetype: str | None = None,
        analysis_type: str | None = None,
        limit: int | None = None,
    ) -> list[StoredAnalysis]:
        """The user's stored analyses (of that archetype and type, when given), newest first, at most ``limit``."""
        if limit is not None and limit < 0:
            raise InvalidInputError("limit must not be negative", field="limit")
        return await self._newest_first(user_id, archetype, analysis_type, limit)

    @abstractmethod
    async def _newest_first(
        self, user_id: str, archetype: str | None, analysis_type: str | None, limit: int | None
    ) -> list[StoredAnalysis]:
        """What ``list_for_user`` answers, ``limit`` checked (None or at least 0): each store's own query."""

    @abstractmethod
    async def delete_user(self, user_id: str) -> int:
        """Erase every stored analysis of ``user_id``; returns how many went."""
