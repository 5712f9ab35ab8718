"""Hypothesis strategies for sahha-sync's domain (needs hypothesis): aware datetimes in many offsets, records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import strategies as st

from sahha_sync.domain.health import Biomarker, Score

offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))

aware_datetimes = st.builds(
    lambda naive, tz: naive.replace(tzinfo=UTC).astimezone(tz),
    st.datetimes(min_value=datetime(2015, 1, 1), max_value=datetime(2035, 1, 1)),
    offsets,
)

seconds = st.integers(min_value=1, max_value=400 * 24 * 3600).map(lambda s: timedelta(seconds=s))

_DAY0 = datetime(2025, 10, 1, tzinfo=UTC)


def biomarkers(profile_ids: tuple[str, ...] = ("u1", "u2"), days: int = 3) -> st.SearchStrategy[Biomarker]:
    """Biomarkers from a small key space, so that lists of them share keys."""
    return st.builds(
        lambda user_id, type_, day, value: Biomarker(
            user_id=user_id,
            category="activity",
            type=type_,
            value=str(value),
            unit="count",
            value_type="long",
            start_date_time=_DAY0 + timedelta(days=day),
            end_date_time=_DAY0 + timedelta(days=day + 1),
        ),
        st.sampled_from(profile_ids),
        st.sampled_from(("steps", "heart_rate_resting")),
        st.integers(min_value=0, max_value=days - 1),
        st.integers(min_value=0, max_value=30_000),
    )


def scores() -> st.SearchStrategy[Score]:
    return st.builds(
        lambda type_, day, value: Score(
            user_id="u1", type=type_, score_date_time=_DAY0 + timedelta(days=day), score=value
        ),
        st.sampled_from(("sleep", "activity", "readiness")),
        st.integers(min_value=0, max_value=3),
        st.floats(min_value=0.0, max_value=1.0),
    )
