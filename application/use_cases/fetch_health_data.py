"""``FetchHealthData``: the seed's ``fetch_health_data`` call — one user's data since a watermark."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.clock import Clock
from sahha_sync.application.ports.health_data_source import HealthDataSource
from sahha_sync.application.use_cases._support import fetch_in_chunks, require_aware, require_text
from sahha_sync.domain.errors import InvalidInputError
from sahha_sync.domain.snapshot import HealthSnapshot
from sahha_sync.domain.windows import DEFAULT_INITIAL_DAYS, DEFAULT_LOOKBACK, Watermark, plan_fetch_window

log = get_logger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchHealthData:
    """``await fetch_health_data(user_id, since_timestamp=None, days=None) -> HealthSnapshot``.

    With ``since_timestamp`` (a watermark) the window runs from ``since_timestamp - lookback`` to now
    (incremental); without, it is the last ``days`` days (default ``initial_days``). Windows longer than 30 days
    are fetched chunk by chunk. ``snapshot.to_dict()`` is the seed's return value.
    """

    source: HealthDataSource
    clock: Clock
    lookback: timedelta = DEFAULT_LOOKBACK
    initial_days: int = DEFAULT_INITIAL_DAYS
    include_archetypes: bool = False

    async def __call__(
        self, user_id: str, since_timestamp: datetime | None = None, days: int | None = None
    ) -> HealthSnapshot:
        return await self.fetch_health_data(user_id, since_timestamp, days)

    async def fetch_health_data(
        self, user_id: str, since_timestamp: datetime | None = None, days: int | None = None
    ) -> HealthSnapshot:
        user_id = require_text(user_id, "user_id")
        watermark = None if since_timestamp is None else Watermark(require_aware(since_timestamp, "since_timestamp"))
        initial_days = self.initial_days if days is None else days
        if isinstance(initial_days, bool) or not isinstance(initial_days, int) or initial_days <= 0:
            raise InvalidInputError("days must be a positive whole number", field="days")
        now = self.clock.now()
        plan = plan_fetch_window(now, watermark, lookback=self.lookback, initial_days=initial_days)
        records = await fetch_in_chunks(self.source, user_id, plan.window, include_archetypes=self.include_archetypes)
        snapshot = HealthSnapshot.from_records(
            records,
            fetched_at=self.clock.now(),
            window=plan.window,
            is_incremental=plan.is_incremental,
            watermark=since_timestamp,
        )
        log.info(
            "fetch_health_data.fetched",
            user_id=user_id,
            is_incremental=plan.is_incremental,
            total_items=snapshot.total_items,
            quarantined=len(snapshot.quarantined),
        )
        return snapshot
