"""Metrics computed from a run's health data, so that an analyst is told facts the code worked out.

Standard library only. ``compute_facts(analysis_input)`` gives the ``MetricSet`` and the per-day ``Digest``;
``analysis_input_hash(analysis_input, prompt_version=..., model=...)`` identifies what an analyst would be told;
``findings`` turns metrics into insights (the offline analyst's), and ``check_insight`` says whether an
insight's figures are the computed ones.
"""

from sahha_sync.domain.metrics.behavior_findings import BEHAVIOR_RULES
from sahha_sync.domain.metrics.chronotype import chronotype_label, shift_like
from sahha_sync.domain.metrics.circadian_findings import CIRCADIAN_RULES
from sahha_sync.domain.metrics.citations import check_insight, digest_figures
from sahha_sync.domain.metrics.compute import (
    AnalysisFacts,
    analysis_input_hash,
    canonical_json,
    compute_facts,
    compute_metrics,
    input_hash,
)
from sahha_sync.domain.metrics.days import LocalDay
from sahha_sync.domain.metrics.digest import Digest
from sahha_sync.domain.metrics.findings import Finding, Rule, findings
from sahha_sync.domain.metrics.glossary import GLOSSARY, glossary_for
from sahha_sync.domain.metrics.model import CLOCK_UNIT, Coverage, Metric, MetricSet, ScoreSummary, format_clock
from sahha_sync.domain.metrics.quality import data_quality_notes, stale_data_note
from sahha_sync.domain.metrics.sleep import Night, SleepLog, nights_from, sleep_log

__all__ = [
    "BEHAVIOR_RULES",
    "CIRCADIAN_RULES",
    "CLOCK_UNIT",
    "GLOSSARY",
    "AnalysisFacts",
    "Coverage",
    "Digest",
    "Finding",
    "LocalDay",
    "Metric",
    "MetricSet",
    "Night",
    "Rule",
    "ScoreSummary",
    "SleepLog",
    "analysis_input_hash",
    "canonical_json",
    "check_insight",
    "chronotype_label",
    "compute_facts",
    "compute_metrics",
    "data_quality_notes",
    "digest_figures",
    "findings",
    "format_clock",
    "glossary_for",
    "input_hash",
    "nights_from",
    "shift_like",
    "sleep_log",
    "stale_data_note",
]
