"""What a host hears when a run's archival ends: ``ArchivalOutcome``, given to an optional listener.

``SahhaSync(on_archived=listener)`` (or ``ArchiveHealthData(on_archived=...)``) calls ``listener(outcome)`` once
the archival's transaction committed — the data is readable when it is called — so a host need not poll
``tracking_record``. It may be a plain or an ``async`` function. A listener that raises is logged and otherwise
ignored: the archival stands. The outcome names the run and its user, never health data or error text.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sahha_sync.application.logs import get_logger

log = get_logger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class ArchivalOutcome:
    """A run's archival completed (``completed``) or an attempt failed (``will_retry``: the queue tries again)."""

    run_id: str
    user_id: str
    archetype: str
    analysis_type: str
    completed: bool
    will_retry: bool = False
    error_kind: str | None = None  # the failure's kind (an exception class name), never its message
    part: str | None = None  # the record kind's plural whose upsert failed, or None


ArchivalListener = Callable[[ArchivalOutcome], Awaitable[None] | None]


async def tell(listener: ArchivalListener | None, outcome: ArchivalOutcome) -> None:
    """Call ``listener`` with ``outcome``; whatever it raises is logged, not passed on."""
    if listener is None:
        return
    try:
        answer = listener(outcome)
        if inspect.isawaitable(answer):
            await answer
    except Exception as exc:
        log.warning("archival.listener_failed", run_id=outcome.run_id, error_kind=type(exc).__name__)
