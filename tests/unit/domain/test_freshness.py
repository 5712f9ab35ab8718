"""``UserFreshness`` and ``FreshnessBound``: how far the archive holds a user's data, and when it may be used."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sahha_sync.domain import (
    AnalysisRequested,
    DomainEvent,
    FreshnessBound,
    HealthDataFetched,
    InvalidInputError,
    SyncCompleted,
    UserDataDelivered,
    UserFreshness,
    Watermark,
)
from sahha_sync.domain.freshness import fold_freshness

T = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def run(
    run_id: str, end: datetime, *, synced: bool, source: str = "sahha", archetypes: bool = False
) -> list[DomainEvent]:
    events: list[DomainEvent] = [
        AnalysisRequested(run_id=run_id, occurred_at=end, user_id="u", archetype="a", analysis_type="behavior"),
        HealthDataFetched(
            run_id=run_id,
            occurred_at=end,
            window_start=end - timedelta(days=2),
            window_end=end,
            biomarker_count=1,
            score_count=0,
            is_incremental=True,
            watermark=None,
            source=source,
            with_archetypes=archetypes,
        ),
    ]
    return [*events, SyncCompleted(run_id=run_id, occurred_at=end)] if synced else events


def test_a_fetch_moves_the_mark_only_once_it_is_archived() -> None:
    fresh = UserFreshness(user_id="u")
    assert fresh.after_run(run("r1", T, synced=False)) == fresh
    assert fresh.after_run(run("r1", T, synced=True)).fetched == Watermark(T)


def test_the_archive_standing_in_for_a_fetch_moves_nothing() -> None:
    fresh = UserFreshness(user_id="u")
    assert fresh.after_run(run("r1", T, synced=True, source="archive")) == fresh


def test_the_mark_never_moves_back_and_archetypes_follow_the_fetches_that_asked_for_them() -> None:
    fresh = UserFreshness(user_id="u").after_run(run("r2", T, synced=True, archetypes=True))
    older = fresh.after_run(run("r1", T - HOUR, synced=True))
    assert (older.fetched, older.archetypes) == (Watermark(T), Watermark(T))
    newer = older.after_run(run("r3", T + HOUR, synced=True))
    assert (newer.fetched, newer.archetypes) == (Watermark(T + HOUR), Watermark(T))


def test_a_delivery_moves_the_mark_and_not_where_a_fetch_continues_from() -> None:
    delivered = UserDataDelivered(run_id="delivery-1", occurred_at=T, user_id="u", delivered_at=T + HOUR)
    fresh = UserFreshness(user_id="u", fetched=Watermark(T)).after_delivery(delivered)
    assert (fresh.mark, fresh.fetched, fresh.delivery_run_id) == (Watermark(T + HOUR), Watermark(T), "delivery-1")
    assert fresh.age(T + 2 * HOUR) == HOUR
    with pytest.raises(InvalidInputError):
        UserFreshness(user_id="v").after_delivery(delivered)


def test_the_fold_of_every_stream_gives_each_users_freshness() -> None:
    delivered = UserDataDelivered(run_id="delivery-1", occurred_at=T, user_id="w", delivered_at=T)
    found = fold_freshness([run("r1", T, synced=True), [delivered], []])
    assert found == {
        "u": UserFreshness(user_id="u", fetched=Watermark(T)),
        "w": UserFreshness(user_id="w", delivered=Watermark(T), delivery_run_id="delivery-1"),
    }


def test_the_bound_holds_data_no_older_than_it_and_zero_holds_none() -> None:
    bound = FreshnessBound(max_staleness=HOUR)
    assert bound.holds(Watermark(T), T + HOUR)
    assert not bound.holds(Watermark(T), T + HOUR + timedelta(seconds=1))
    assert not bound.holds(None, T)
    assert not FreshnessBound().holds(Watermark(T), T)


def test_archetypes_are_due_once_per_period_and_every_time_without_one() -> None:
    bound = FreshnessBound(archetype_period=timedelta(days=1))
    assert bound.archetypes_due(None, T)
    assert not bound.archetypes_due(Watermark(T), T + 23 * HOUR)
    assert bound.archetypes_due(Watermark(T), T + 24 * HOUR)
    assert FreshnessBound().archetypes_due(Watermark(T), T)


def test_deliveries_keep_a_user_fresh_until_they_fall_silent_and_never_with_a_zero_bound() -> None:
    bound = FreshnessBound(max_staleness=HOUR, webhook_silence=timedelta(days=1))
    assert bound.kept_by_webhooks(Watermark(T), T + 20 * HOUR)
    assert not bound.kept_by_webhooks(Watermark(T), T + 25 * HOUR)
    assert not bound.kept_by_webhooks(None, T)
    assert not FreshnessBound(webhook_silence=timedelta(days=1)).kept_by_webhooks(Watermark(T), T)
    assert not FreshnessBound(max_staleness=HOUR).kept_by_webhooks(Watermark(T), T + 2 * HOUR)


@pytest.mark.parametrize("field", ["max_staleness", "archetype_period", "webhook_silence"])
def test_a_negative_bound_is_refused_naming_the_field(field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        FreshnessBound(**{field: timedelta(seconds=-1)})  # type: ignore[arg-type]
    assert caught.value.field == field
