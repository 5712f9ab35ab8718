"""Sahha's JSON records as pydantic DTOs, turned into domain objects; what cannot be parsed is quarantined.

The DTOs accept what the API may or may not send: extra fields are ignored, optional metadata may be
missing or null, numbers may come where strings are documented (and the other way round), unknown
categories and types pass through. A record that still does not fit (a missing required field, a date
that is not a date, a score outside 0.0-1.0) becomes a ``QuarantinedRecord`` whose reason names the field.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timezone
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sahha_sync.domain import Archetype, Biomarker, QuarantinedRecord, Score
from sahha_sync.domain.errors import InvalidInputError


def _plain_offset(moment: datetime) -> datetime:
    offset = moment.utcoffset()
    assert offset is not None
    return moment.replace(tzinfo=UTC if not offset else timezone(offset))


def _local(value: datetime | None) -> datetime | None:
    """A datetime with the offset Sahha sent; one without an offset is refused (its local day is unknown)."""
    if value is None:
        return None
    if value.utcoffset() is None:
        raise ValueError("has no UTC offset")
    return _plain_offset(value)


def _utc(value: datetime | None) -> datetime | None:
    """``createdAtUtc``: UTC by name, so a missing offset means UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.utcoffset() is None else _plain_offset(value)


class _Dto(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, coerce_numbers_to_str=True, frozen=True)

    id: str | None = None
    sahha_profile_id: str | None = Field(default=None, alias="profileId")
    created_at_utc: datetime | None = Field(default=None, alias="createdAtUtc")

    _utc_created = field_validator("created_at_utc")(_utc)

    RECORD: ClassVar[type[Biomarker] | type[Score] | type[Archetype]]  # the domain record it stands for

    def to_domain(self, user_id: str, observed_at: datetime) -> Biomarker | Score | Archetype:
        """The domain record: the DTO's fields by name, Sahha's ``id`` as ``sahha_id``, the host's user."""
        fields = self.model_dump(exclude={"id"})
        return self.RECORD.from_dict({**fields, "sahha_id": self.id, "user_id": user_id, "observed_at": observed_at})


class BiomarkerDto(_Dto):
    RECORD = Biomarker

    category: str = ""
    type: str
    periodicity: str = "daily"
    aggregation: str = "none"
    value: str
    unit: str = ""
    value_type: str = Field(default="string", alias="valueType")
    start_date_time: datetime = Field(alias="startDateTime")
    end_date_time: datetime = Field(alias="endDateTime")

    _local_times = field_validator("start_date_time", "end_date_time")(_local)


class FactorDto(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, frozen=True)

    name: str
    value: float | None = None
    goal: float | None = None
    score: float | None = None
    state: str | None = None
    unit: str | None = None
    id: str | None = None


def _list_or_empty(value: Any) -> Any:
    return [] if value is None else value


class ScoreDto(_Dto):
    RECORD = Score

    type: str
    score: float | None = None
    state: str | None = None
    factors: list[FactorDto] = Field(default_factory=list)
    data_sources: list[str] = Field(default_factory=list, alias="dataSources")
    score_date_time: datetime = Field(alias="scoreDateTime")
    version: str | None = None

    _lists = field_validator("factors", "data_sources", mode="before")(_list_or_empty)
    _local_time = field_validator("score_date_time")(_local)


class ArchetypeDto(_Dto):
    RECORD = Archetype

    name: str
    value: str
    data_type: str | None = Field(default=None, alias="dataType")
    ordinality: int | None = None
    periodicity: str = "unknown"
    start_date_time: datetime = Field(alias="startDateTime")
    end_date_time: datetime = Field(alias="endDateTime")
    version: str | None = None

    _local_times = field_validator("start_date_time", "end_date_time")(_local)


R = TypeVar("R", Biomarker, Score, Archetype)
DTOS: dict[str, type[BiomarkerDto] | type[ScoreDto] | type[ArchetypeDto]] = {
    "biomarker": BiomarkerDto,
    "score": ScoreDto,
    "archetype": ArchetypeDto,
}


def _reason(kind: str, exc: Exception) -> str:
    """What was wrong, by field; pydantic's messages carry no input values, the domain's none either."""
    if isinstance(exc, ValidationError):
        problems = [f"{'.'.join(str(p) for p in e['loc']) or kind}: {e['msg']}" for e in exc.errors()[:3]]
        return f"{kind} " + "; ".join(problems)
    if isinstance(exc, InvalidInputError):
        return f"{kind} {exc.field or 'record'}: {exc}"
    return f"{kind} is not a JSON object"


def parse_records(
    kind: str, items: Iterable[Any], user_id: str, received_at: Callable[[], datetime]
) -> tuple[list[Any], list[QuarantinedRecord]]:
    """Domain records of ``kind`` for the host's ``user_id`` (the ``externalId`` they were asked for or
    delivered with), and the items that could not be parsed. Sahha's own ``profileId`` is ``sahha_profile_id``.

    ``received_at`` is read once, when the items are parsed: the time their answer or delivery came, which is
    each record's ``observed_at`` unless Sahha says when it created it (``createdAtUtc``)."""
    dto = DTOS[kind]
    answered = received_at()
    good: list[Any] = []
    bad: list[QuarantinedRecord] = []
    for item in items:
        try:
            if not isinstance(item, dict):
                raise TypeError(kind)
            good.append(dto.model_validate(item).to_domain(user_id, answered))
        except (ValidationError, InvalidInputError, TypeError) as exc:
            raw = json.dumps(item, ensure_ascii=False, separators=(",", ":"))
            bad.append(
                QuarantinedRecord(user_id=user_id, kind=kind, reason=_reason(kind, exc), raw=raw, received_at=answered)
            )
    return good, bad
