"""Freshness per user: up to when the archive holds a user's data, and the bound within which it is used as is.

The data belongs to the user, not to an analysis type: one ``UserFreshness`` per user, a projection of the
events (``user_freshness``), advanced by

- a fetch from Sahha, once its run's archival completed (``sync.completed``): ``fetched`` is the end of the
  window it fetched — the archive then holds what Sahha had served up to there, on every server;
- a webhook delivery, once archived (``user_data.delivered``): ``delivered`` is when it was received.

``mark`` is the later of the two. A fetch continues from ``fetched`` (minus the lookback), never from
``delivered``: a delivery that never came is caught by the next poll, not skipped. ``archetypes`` is the end of
the newest archived fetch that asked for Sahha's archetypes (weekly or monthly data, fetched once per period).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sahha_sync.domain._checks import require_text
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.events import (
    AnalysisRequested,
    DomainEvent,
    HealthDataFetched,
    SyncCompleted,
    UserDataDelivered,
)
from sahha_sync.domain.windows import FetchWindow, Watermark

SAHHA_SOURCE = "sahha"


def latest(*marks: Watermark | None) -> Watermark | None:
    """The latest of the marks given (None when none is)."""
    found = [m for m in marks if m is not None]
    return max(found, key=lambda m: m.value, default=None)


@dataclass(frozen=True, slots=True, kw_only=True)
class UserFreshness:
    """One row of ``user_freshness``: how far the archive holds one user's data."""

    user_id: str
    fetched: Watermark | None = None
    delivered: Watermark | None = None
    archetypes: Watermark | None = None
    delivery_run_id: str | None = None  # the run id of the user's delivery stream

    def __post_init__(self) -> None:
        require_text(self.user_id, "user_id", where="user freshness")

    @property
    def mark(self) -> Watermark | None:
        """Up to when the archive holds the user's data (by polling or by webhooks)."""
        return latest(self.fetched, self.delivered)

    def age(self, now: datetime) -> timedelta | None:
        """How old the newest part of the archived data is at ``now`` (None: nothing archived)."""
        mark = self.mark
        return None if mark is None else max(now - mark.value, timedelta(0))

    def after_run(self, events: Sequence[DomainEvent]) -> UserFreshness:
        """Advanced by a run's stream: once its archival completed, by the window it fetched from Sahha."""
        fetch = next((e for e in reversed(events) if isinstance(e, HealthDataFetched)), None)
        if fetch is None or fetch.source != SAHHA_SOURCE or not any(isinstance(e, SyncCompleted) for e in events):
            return self
        end = Watermark(fetch.window_end)
        archetypes = latest(self.archetypes, end) if fetch.with_archetypes else self.archetypes
        return dataclasses.replace(self, fetched=latest(self.fetched, end), archetypes=archetypes)

    def after_delivery(self, event: UserDataDelivered) -> UserFreshness:
        """Advanced by a webhook delivery of the user's data (the stream it is in becomes the user's)."""
        if event.user_id != self.user_id:
            raise InvalidInputError("a delivery of another user", field="user_id")
        delivered = latest(self.delivered, Watermark(event.delivered_at))
        return dataclasses.replace(self, delivered=delivered, delivery_run_id=event.run_id)


def fold_freshness(streams: Iterable[Sequence[DomainEvent]]) -> dict[str, UserFreshness]:
    """Every user's freshness from the streams (runs and delivery streams; others are ignored), by user id."""
    found: dict[str, UserFreshness] = {}
    for events in streams:
        if not events:
            continue
        first = events[0]
        if isinstance(first, AnalysisRequested):
            user = first.user_id
            found[user] = found.get(user, UserFreshness(user_id=user)).after_run(events)
            continue
        for event in events:
            if isinstance(event, UserDataDelivered):
                user = event.user_id
                found[user] = found.get(user, UserFreshness(user_id=user)).after_delivery(event)
    return found


@dataclass(frozen=True, slots=True)
class FreshnessBound:
    """``max_staleness``: how old a user's data may be for an analysis to use it without fetching (zero: fetch
    every time). ``archetype_period``: Sahha's archetypes are asked for at most once per period (zero: every
    fetch). ``webhook_silence``: a user with a webhook delivery less than this ago is kept fresh by Sahha's
    pushes — Sahha had nothing newer to push — so the archive answers however long ago that delivery was, and
    runs poll only once the deliveries fall silent this long (zero: deliveries count only through the mark)."""

    max_staleness: timedelta = timedelta(0)
    archetype_period: timedelta = timedelta(0)
    webhook_silence: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        if self.max_staleness < timedelta(0):
            raise InvalidInputError("max_staleness must not be negative", field="max_staleness")
        if self.archetype_period < timedelta(0):
            raise InvalidInputError("archetype_period must not be negative", field="archetype_period")
        if self.webhook_silence < timedelta(0):
            raise InvalidInputError("webhook_silence must not be negative", field="webhook_silence")

    @property
    def polls_every_time(self) -> bool:
        return self.max_staleness <= timedelta(0)

    def holds(self, fresh_as_of: Watermark | None, now: datetime) -> bool:
        """Whether data current up to ``fresh_as_of`` may be used at ``now`` without fetching."""
        if self.polls_every_time or fresh_as_of is None:
            return False
        return now - fresh_as_of.value <= self.max_staleness

    def kept_by_webhooks(self, delivered: Watermark | None, now: datetime) -> bool:
        """Whether deliveries keep the user fresh at ``now``, the last one received at ``delivered``."""
        if self.polls_every_time or delivered is None or self.webhook_silence <= timedelta(0):
            return False
        return now - delivered.value <= self.webhook_silence

    def archetypes_due(self, archetypes: Watermark | None, now: datetime) -> bool:
        """Whether a fetch at ``now`` asks for archetypes, the last archetype fetch having ended at ``archetypes``."""
        if self.archetype_period <= timedelta(0) or archetypes is None:
            return True
        return now - archetypes.value >= self.archetype_period

    def archetype_start(
        self, fetched: Watermark | None, archetypes: Watermark | None, now: datetime, lookback: timedelta, days: int
    ) -> datetime | None:
        """How far back a fetch that asks for archetypes reaches, at the latest (None: no constraint).

        Between two archetype fetches, polls without them move ``fetched`` on: the archetype fetch reaches back
        to the previous one (minus the lookback), so an archetype that Sahha made in between is not skipped."""
        if self.archetype_period <= timedelta(0) or fetched is None:
            return None
        if archetypes is None:
            return FetchWindow.last_days(now, days).start
        return archetypes.fetch_start(now, lookback)


__all__ = ["FreshnessBound", "UserFreshness", "fold_freshness", "latest"]
