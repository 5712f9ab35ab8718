"""Metrics computed from a run's health data, so that an analyst is told facts the code worked out.

Standard library only. ``compute_facts(analysis_input)`` gives the ``MetricSet`` and the per-day ``Digest``;
``analysis_input_hash(analysis_input, prompt_version=..., model=...)`` identifies what an analyst would be told.
"""

from sahha_sync.domain.metrics.compute import (
    AnalysisFacts,
    analysis_input_hash,
    canonical_json,
    compute_facts,
    compute_metrics,
    input_hash,
)
from sahha_sync.domain.metrics.digest import Digest
from sahha_sync.domain.metrics.model import CLOCK_UNIT, Coverage, Metric, MetricSet, ScoreSummary, format_clock
from sahha_sync.domain.metrics.quality import data_quality_notes, stale_data_note
from sahha_sync.domain.metrics.sleep import Night, nights_from

__all__ = [
    "CLOCK_UNIT",
    "AnalysisFacts",
    "Coverage",
    "Digest",
    "Metric",
    "MetricSet",
    "Night",
    "ScoreSummary",
    "analysis_input_hash",
    "canonical_json",
    "compute_facts",
    "compute_metrics",
    "data_quality_notes",
    "format_clock",
    "input_hash",
    "nights_from",
    "stale_data_note",
]
