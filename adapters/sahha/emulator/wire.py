"""Domain records in Sahha's JSON shape (camelCase, datetimes with offsets), the error body, and bad records."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from sahha_sync.domain import Archetype, Biomarker, Score, ScoreFactor

EMULATOR_ACCOUNT_ID = "00000000-0000-4000-8000-00000000acc7"

Json = dict[str, Any]


def format_datetime(moment: datetime) -> str:
    """ISO-8601 with the offset, milliseconds as Sahha writes them (microseconds only when there are any)."""
    return moment.isoformat(timespec="microseconds" if moment.microsecond % 1000 else "milliseconds")


def format_utc(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC)).replace("+00:00", "Z")


def _common(record: Biomarker | Score | Archetype) -> Json:
    """The fields every kind carries; ``createdAtUtc`` only when the record has one (API scores, not API
    biomarkers or archetypes)."""
    body: Json = {"profileId": record.sahha_profile_id, "accountId": EMULATOR_ACCOUNT_ID}
    body["externalId"] = record.user_id
    if record.sahha_id is not None:
        body["id"] = record.sahha_id
    if record.created_at_utc is not None:
        body["createdAtUtc"] = format_utc(record.created_at_utc)
    return body


def _version(value: str | None) -> int | str | None:
    """A version as Sahha sends it: a number when it is one (``1``), else as it was."""
    whole = value is not None and value.isascii() and value.isdigit() and str(int(value)) == value
    return int(value) if whole and value is not None else value


EVENT_TYPES = {
    Biomarker: "BiomarkerCreatedIntegrationEvent",
    Score: "ScoreCreatedIntegrationEvent",
    Archetype: "ArchetypeCreatedIntegrationEvent",
}


def api_json(record: Biomarker | Score | Archetype) -> Json:
    if isinstance(record, Biomarker):
        return biomarker_json(record)
    return score_json(record) if isinstance(record, Score) else archetype_json(record)


def webhook_json(record: Biomarker | Score | Archetype, created: datetime) -> Json:
    """The body of the webhook that pushes ``record``: its API fields, with ``createdAtUtc`` (``created`` unless
    the record has its own) and ``version`` always present."""
    body = api_json(record)
    body.setdefault("createdAtUtc", format_utc(_ms(created)))
    body.setdefault("version", 1)
    return body


def _ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def biomarker_json(b: Biomarker) -> Json:
    return _common(b) | {
        "category": b.category,
        "type": b.type,
        "periodicity": b.periodicity,
        "aggregation": b.aggregation,
        "value": b.value,
        "unit": b.unit,
        "valueType": b.value_type,
        "startDateTime": format_datetime(b.start_date_time),
        "endDateTime": format_datetime(b.end_date_time),
    }


def factor_json(f: ScoreFactor) -> Json:
    body: Json = {"name": f.name, "value": f.value, "goal": f.goal, "score": f.score, "state": f.state, "unit": f.unit}
    if f.id is not None:
        body["id"] = f.id
    return body


def score_json(s: Score) -> Json:
    return _common(s) | {
        "type": s.type,
        "state": s.state,
        "score": s.score,
        "factors": [factor_json(f) for f in s.factors],
        "dataSources": list(s.data_sources),
        "scoreDateTime": format_datetime(s.score_date_time),
        "version": _version(s.version),
    }


def archetype_json(a: Archetype) -> Json:
    return (
        _common(a)
        | {
            "name": a.name,
            "value": a.value,
            "dataType": a.data_type,
            "ordinality": a.ordinality,
            "periodicity": a.periodicity,
            "startDateTime": format_datetime(a.start_date_time),
            "endDateTime": format_datetime(a.end_date_time),
        }
        | ({} if a.version is None else {"version": _version(a.version)})
    )


def error_json(status: int, title: str, location: str, errors: dict[str, list[str]] | None = None) -> Json:
    """Sahha's error body: ``{title, statusCode, location, errors: [{origin, errors}]}``."""
    return {
        "title": title,
        "statusCode": status,
        "location": location,
        "errors": [{"origin": origin, "errors": messages} for origin, messages in (errors or {}).items()],
    }


def malformed_biomarker(rng: random.Random, good: Json) -> Json:
    """A copy of a good biomarker with one defect that the client must quarantine."""
    bad = dict(good)
    defect = rng.choice(("value", "startDateTime", "type"))
    if defect == "value":
        bad["valueType"], bad["value"] = "integer", "n/a"
    elif defect == "startDateTime":
        bad["startDateTime"] = "yesterday"
    else:
        bad.pop("type")
    bad["id"] = f"malformed-{rng.randrange(10**9)}"
    return bad


def malformed_score(rng: random.Random, good: Json) -> Json:
    """A copy of a good score in the quick-start's 0-100 shape, or with a broken date."""
    bad = dict(good)
    if rng.random() < 0.5:
        bad["score"] = 72.5
    else:
        bad["scoreDateTime"] = "not a date"
    bad["id"] = f"malformed-{rng.randrange(10**9)}"
    return bad
