"""From an ``AnalysisInput`` to its metrics, its digest, and the hash that identifies what an analyst is told."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date

from sahha_sync.domain.analysis import AnalysisInput
from sahha_sync.domain.health import Biomarker, Score
from sahha_sync.domain.metrics.behavior import behavior_metrics
from sahha_sync.domain.metrics.circadian import circadian_metrics
from sahha_sync.domain.metrics.days import local_day
from sahha_sync.domain.metrics.digest import Digest, build_digest
from sahha_sync.domain.metrics.model import Coverage, MetricSet
from sahha_sync.domain.metrics.scores import score_metrics
from sahha_sync.domain.metrics.sleep import SLEEP_END, SLEEP_START, Night, nights_from
from sahha_sync.domain.snapshot import dedupe_by_key


@dataclass(frozen=True, slots=True)
class AnalysisFacts:
    """What the code computed from one input: the metrics and the per-day digest."""

    metrics: MetricSet
    digest: Digest

    def input_hash(self, *, prompt_version: str, model: str) -> str:
        return input_hash(self.metrics, self.digest, prompt_version=prompt_version, model=model)


def _records(analysis_input: AnalysisInput) -> tuple[list[Biomarker], list[Score]]:
    return dedupe_by_key(analysis_input.biomarkers), dedupe_by_key(analysis_input.scores)


def _coverage(biomarkers: list[Biomarker], scores: list[Score], nights: tuple[Night, ...]) -> Coverage:
    days: set[date] = {local_day(b) for b in biomarkers if b.type not in (SLEEP_START, SLEEP_END)}
    days |= {s.score_date_time.date() for s in scores}
    days |= {n.wake_date for n in nights}
    return Coverage(
        days_with_data=len(days),
        first_day=min(days) if days else None,
        last_day=max(days) if days else None,
        nights=len(nights),
    )


def compute_facts(analysis_input: AnalysisInput) -> AnalysisFacts:
    """The metrics and the digest of ``analysis_input`` (pure and deterministic)."""
    biomarkers, scores = _records(analysis_input)
    nights = nights_from(biomarkers)
    metrics = MetricSet(
        analysis_type=analysis_input.analysis_type.value,
        archetype=analysis_input.archetype,
        data_source=analysis_input.data_source,
        stale_as_of=analysis_input.stale_as_of,
        coverage=_coverage(biomarkers, scores, nights),
        circadian=circadian_metrics(biomarkers, nights),
        behavior=behavior_metrics(biomarkers),
        scores=score_metrics(scores),
    )
    return AnalysisFacts(metrics, build_digest(biomarkers, scores, nights))


def compute_metrics(analysis_input: AnalysisInput) -> MetricSet:
    return compute_facts(analysis_input).metrics


def canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def input_hash(metrics: MetricSet, digest: Digest, *, prompt_version: str, model: str) -> str:
    """sha256 (hex) of the canonical JSON of the metrics, the full digest, the prompt version and the model.

    The period and the user id are left out on purpose: the same data analysed an hour later, for the same
    user, is the same input (an incremental window's length changes with every run).
    """
    payload = {
        "metrics": metrics.to_dict(),
        "digest": digest.to_dict(),
        "prompt_version": prompt_version,
        "model": model,
    }
    return hashlib.sha256(canonical_json(payload).encode("ascii")).hexdigest()


def analysis_input_hash(analysis_input: AnalysisInput, *, prompt_version: str, model: str) -> str:
    """The hash an analyst with ``prompt_version`` and ``model`` gives ``analysis_input`` (see ``input_hash``)."""
    return compute_facts(analysis_input).input_hash(prompt_version=prompt_version, model=model)
