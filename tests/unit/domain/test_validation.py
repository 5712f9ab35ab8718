"""Bad input gets a typed error that names the field: naive datetimes, empty ids, numbers that are not numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sahha_sync.domain._serialised import Serialised
from sahha_sync.domain.analysis import AnalysisInput, AnalysisType
from sahha_sync.domain.errors import InvalidInputError, SahhaSyncError
from sahha_sync.domain.health import Archetype, Biomarker, QuarantinedRecord, Score, ScoreFactor
from sahha_sync.domain.snapshot import HealthSnapshot
from sahha_sync.domain.windows import FetchWindow, Watermark
from sahha_sync.testing.records import archetype, biomarker, score

T = datetime(2025, 10, 1, tzinfo=UTC)
NAIVE = datetime(2025, 10, 1)  # naive on purpose


def _refused(build: Any, field: str) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as caught:
        build()
    assert caught.value.field == field
    assert field in str(caught.value) or field.replace("_", " ") in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, SahhaSyncError)
    return caught.value


def _naive(field: str) -> dict[str, Any]:
    return {field: NAIVE}


def _nan(field: str) -> dict[str, Any]:
    return {field: math.nan}


@pytest.mark.parametrize("field", ["start_date_time", "end_date_time", "created_at_utc"])
def test_a_biomarker_with_a_naive_datetime_is_refused(field: str) -> None:
    _refused(lambda: biomarker("u", **_naive(field)), field)


@pytest.mark.parametrize("user_id", ["", "   "])
def test_a_biomarker_without_a_user_id_is_refused(user_id: str) -> None:
    _refused(lambda: biomarker(user_id), "user_id")


def test_a_biomarker_without_a_type_is_refused() -> None:
    _refused(lambda: biomarker("u", type=""), "type")


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "lots"])
def test_a_numeric_biomarker_whose_value_is_not_a_finite_number_is_refused(value: str) -> None:
    error = _refused(lambda: biomarker("u", value=value, value_type="double"), "value")
    assert value not in str(error).replace("value", "")  # the message names the field, not the health value


def test_a_biomarker_that_ends_before_it_starts_is_refused() -> None:
    _refused(lambda: biomarker("u", end_date_time=T - timedelta(days=30)), "end_date_time")


def test_a_datetime_biomarker_keeps_its_raw_value() -> None:
    sleep_start = biomarker("u", type="sleep_start_time", value="2025-10-01T22:41:00+10:00", value_type="datetime")
    assert sleep_start.value_numeric is None
    assert sleep_start.value == "2025-10-01T22:41:00+10:00"


@pytest.mark.parametrize("field", ["score_date_time", "created_at_utc"])
def test_a_score_with_a_naive_datetime_is_refused(field: str) -> None:
    _refused(lambda: score("u", **_naive(field)), field)


@pytest.mark.parametrize("value", [math.nan, math.inf, 1.5, -0.1])
def test_a_score_outside_zero_to_one_is_refused(value: float) -> None:
    _refused(lambda: score("u", score=value), "score")


@pytest.mark.parametrize("field", ["value", "goal", "score"])
def test_a_score_factor_with_nan_is_refused(field: str) -> None:
    _refused(lambda: ScoreFactor(name="sleep_duration", **_nan(field)), field)


def test_a_score_factor_without_a_name_is_refused() -> None:
    _refused(lambda: ScoreFactor(name=""), "name")


@pytest.mark.parametrize("field", ["start_date_time", "end_date_time"])
def test_an_archetype_with_a_naive_datetime_is_refused(field: str) -> None:
    _refused(lambda: archetype("u", **_naive(field)), field)


def test_an_archetype_without_a_name_is_refused() -> None:
    _refused(lambda: archetype("u", name=" "), "name")


def test_a_quarantined_record_with_a_naive_time_is_refused() -> None:
    _refused(
        lambda: QuarantinedRecord(user_id="u", kind="biomarker", reason="r", raw="{}", received_at=NAIVE),
        "received_at",
    )


def test_a_watermark_must_be_aware() -> None:
    _refused(lambda: Watermark(NAIVE), "watermark")


def test_a_snapshot_with_a_naive_fetch_time_is_refused() -> None:
    _refused(
        lambda: HealthSnapshot(
            biomarkers=(),
            scores=(),
            fetched_at=NAIVE,
            window=FetchWindow(T - timedelta(days=1), T),
            is_incremental=False,
            watermark=None,
        ),
        "fetched_at",
    )


@pytest.mark.parametrize("user_id", ["", "  "])
def test_an_analysis_input_without_a_user_is_refused(user_id: str) -> None:
    _refused(
        lambda: AnalysisInput(
            user_id=user_id,
            archetype="Peak Performer",
            analysis_type=AnalysisType.BEHAVIOR,
            period=FetchWindow(T - timedelta(days=1), T),
            biomarkers=(),
            scores=(),
        ),
        "user_id",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("behavior_analysis", AnalysisType.BEHAVIOR),
        ("circadian", AnalysisType.CIRCADIAN),
        (" Behavior ", AnalysisType.BEHAVIOR),
        (AnalysisType.CIRCADIAN, AnalysisType.CIRCADIAN),
    ],
)
def test_an_analysis_type_is_parsed_from_its_long_or_short_name(text: str, expected: AnalysisType) -> None:
    assert AnalysisType.parse(text) is expected


def test_an_unknown_analysis_type_is_refused_naming_the_known_ones() -> None:
    error = _refused(lambda: AnalysisType.parse("sleep_analysis"), "analysis_type")
    assert "behavior_analysis" in str(error)


def test_records_read_back_from_their_dicts() -> None:
    for record in (biomarker("u"), score("u"), archetype("u")):
        assert type(record).from_dict(record.to_dict()) == record


def test_a_record_dict_with_a_malformed_time_is_refused_naming_the_field() -> None:
    data = biomarker("u").to_dict() | {"start_date_time": "yesterday"}
    _refused(lambda: Biomarker.from_dict(data), "start_date_time")
    data = score("u").to_dict() | {"score_date_time": None}
    _refused(lambda: Score.from_dict(data), "score_date_time")
    data = archetype("u").to_dict() | {"end_date_time": "31/12/2025"}
    _refused(lambda: Archetype.from_dict(data), "end_date_time")


@pytest.mark.parametrize(
    ("record", "field", "bad"),
    [
        (biomarker("u"), "user_id", " "),
        (biomarker("u"), "end_date_time", "2025-10-01T00:00:00"),
        (score("u"), "score", 1.5),
        (score("u"), "factors", [{"name": "sleep_duration", "goal": math.nan}]),
        (archetype("u"), "created_at_utc", "1899-12-31T00:00:00+00:00"),
    ],
)
def test_a_record_dict_is_checked_as_the_record_itself_is(record: Any, field: str, bad: Any) -> None:
    data = record.to_dict() | {field: bad}
    _refused(lambda: type(record).from_dict(data), "goal" if field == "factors" else field)


def test_a_record_dict_sets_observed_at_as_the_record_itself_does() -> None:
    data = biomarker("u", created_at_utc=T).to_dict() | {"observed_at": (T + timedelta(days=1)).isoformat()}
    assert Biomarker.from_dict(data).observed_at == T


def test_only_a_slotted_dataclass_whose_fields_all_come_from_its_dict_reads_from_it() -> None:
    @dataclass(frozen=True)
    class Unslotted(Serialised):
        name: str

    with pytest.raises(TypeError, match="Unslotted"):
        Unslotted.from_dict({"name": "n"})


BUILDERS = {"biomarker": biomarker, "score": score, "archetype": archetype}
MOMENTS = {
    "biomarker": ("start_date_time", "end_date_time"),
    "score": ("score_date_time",),
    "archetype": ("start_date_time", "end_date_time"),
}


class Text(str):
    """A ``str`` subclass: text all the same."""


class Moment(datetime):
    """A ``datetime`` subclass: a datetime all the same."""


@pytest.mark.parametrize("kind", list(BUILDERS))
@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("user_id", 42),
        ("user_id", " "),
        ("created_at_utc", "2025-10-01T00:00:00+00:00"),
        ("created_at_utc", T.replace(year=1899)),
        ("observed_at", "2025-10-01T00:00:00+00:00"),
        ("observed_at", NAIVE),
    ],
)
def test_every_kind_refuses_each_bad_common_field_naming_it(kind: str, field: str, bad: Any) -> None:
    fields = {"user_id": "u1", field: bad}
    error = _refused(lambda: BUILDERS[kind](**fields), field)
    assert kind in str(error)


@pytest.mark.parametrize("kind", list(BUILDERS))
@pytest.mark.parametrize("bad", [NAIVE, "2025-10-01T00:00:00+00:00", T.replace(year=3000), None])
def test_every_kind_refuses_a_bad_moment_naming_it(kind: str, bad: Any) -> None:
    for field in MOMENTS[kind]:
        _refused(lambda field=field: BUILDERS[kind]("u1", **{field: bad}), field)


@pytest.mark.parametrize("kind", list(BUILDERS))
def test_subclasses_of_str_and_datetime_are_text_and_datetimes(kind: str) -> None:
    moments = {field: Moment(2025, 10, 1, tzinfo=UTC) for field in MOMENTS[kind]}
    record = BUILDERS[kind](Text("u1"), created_at_utc=Moment(2025, 10, 2, tzinfo=UTC), **moments)
    assert record.user_id == "u1"
    assert record.observed_at == datetime(2025, 10, 2, tzinfo=UTC)
