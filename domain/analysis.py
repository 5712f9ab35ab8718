"""Analysis types, what an analyst is given and what it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sahha_sync.domain._checks import require_optional_aware, require_text
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.health import Archetype, Biomarker, Score
from sahha_sync.domain.schedule import WorkSchedule
from sahha_sync.domain.windows import FetchWindow


class AnalysisType(StrEnum):
    BEHAVIOR = "behavior_analysis"
    CIRCADIAN = "circadian_analysis"

    @classmethod
    def parse(cls, value: str | AnalysisType) -> AnalysisType:
        """Accepts ``behavior_analysis``/``circadian_analysis`` and the short ``behavior``/``circadian``."""
        if isinstance(value, AnalysisType):
            return value
        text = str(value).strip().lower()
        for member in cls:
            if text in (member.value, member.value.removesuffix("_analysis")):
                return member
        known = ", ".join(m.value for m in cls)
        raise InvalidInputError(f"unknown analysis type {value!r}; expected one of {known}", field="analysis_type")


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalysisInput:
    """Everything an analyst may look at for one run: the period's data and where it came from.

    ``work_schedule`` is the user's work schedule when the host gave one; None means the default (work days
    Monday to Friday), which the metrics label as such.
    """

    user_id: str
    archetype: str
    analysis_type: AnalysisType
    period: FetchWindow
    biomarkers: tuple[Biomarker, ...]
    scores: tuple[Score, ...]
    archetypes: tuple[Archetype, ...] = ()
    data_source: str = "sahha"  # "archive" when Sahha was down and archived data stood in
    stale_as_of: datetime | None = None  # with the archive as source: the newest archived data's time
    work_schedule: WorkSchedule | None = None

    def __post_init__(self) -> None:
        require_text(self.user_id, "user_id")
        require_optional_aware(self.stale_as_of, "stale_as_of")
        if self.work_schedule is not None and not isinstance(self.work_schedule, WorkSchedule):
            raise InvalidInputError("work_schedule must be a WorkSchedule", field="work_schedule")


@dataclass(frozen=True, slots=True)
class Insight:
    text: str
    metric: str | None = None  # the computed metric the insight rests on


@dataclass(frozen=True, slots=True, kw_only=True)
class Analysis:
    """An analyst's answer. ``analyst`` is ``offline`` or ``openai``; ``input_hash`` identifies the input.

    ``dropped_insights`` counts the model's insights left out because they cited no computed metric or a
    figure that disagrees with it; ``metrics`` is the computed ``MetricSet`` as a dict (``MetricSet.to_dict``).
    """

    summary: str
    analyst: str
    model: str
    prompt_version: str
    input_hash: str
    insights: tuple[Insight, ...] = ()
    recommendations: tuple[str, ...] = ()
    data_quality_notes: tuple[str, ...] = ()
    prompt_tokens: int = 0
    completion_tokens: int = 0
    dropped_insights: int = 0
    metrics: dict[str, object] = field(default_factory=dict, compare=False)
