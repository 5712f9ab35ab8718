"""What the webhook receiver counted since it was built."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

MAX_UNKNOWN_TYPE_NAMES = 50
OTHER_TYPES = "<other>"


@dataclass(frozen=True, slots=True)
class WebhookStats:
    """``received`` = ``accepted`` + ``quarantined`` + ``data_logs`` + ``unknown_types`` + ``rejected_total`` +
    ``disconnected``.

    ``accepted`` counts records kept for archival (``duplicates`` of them joined a pending equal delivery);
    ``quarantined`` signed records that broke a domain rule, kept in quarantine; ``data_logs`` the
    ``DataLogReceivedIntegrationEvent`` deliveries (acknowledged, not stored); ``unknown_types`` deliveries were
    authentic but of an event type that is not stored (by name in ``unknown_by_type``, at most 50 names, the
    rest under ``<other>``); ``rejected`` counts by reason.
    """

    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    data_logs: int = 0
    unknown_types: int = 0
    disconnected: int = 0
    accepted_by_kind: Mapping[str, int] = field(default_factory=dict)
    unknown_by_type: Mapping[str, int] = field(default_factory=dict)
    rejected: Mapping[str, int] = field(default_factory=dict)

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def as_dict(self) -> dict[str, Any]:
        """The counts, ``rejected_total``, then the counts by name (as plain dicts)."""
        figures = _figures(self)
        counts = {name: value for name, value in figures.items() if isinstance(value, int)}
        by_name = {name: value for name, value in figures.items() if not isinstance(value, int)}
        return {**counts, "rejected_total": self.rejected_total, **by_name}


def _figures(counters: WebhookStats | WebhookCounters) -> dict[str, Any]:
    """Each of ``WebhookStats``'s fields as ``counters`` holds it, counts by name copied into plain dicts."""
    figures = {f.name: getattr(counters, f.name) for f in fields(WebhookStats)}
    return {name: value if isinstance(value, int) else dict(value) for name, value in figures.items()}


class WebhookCounters:
    """The mutable counters behind ``WebhookStats`` (one event loop; no locking needed)."""

    def __init__(self) -> None:
        self.received = self.accepted = self.duplicates = self.unknown_types = self.disconnected = 0
        self.quarantined = self.data_logs = 0
        self.accepted_by_kind: Counter[str] = Counter()
        self.unknown_by_type: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()

    def count_accepted(self, kind: str, *, duplicate: bool) -> None:
        self.accepted += 1
        self.duplicates += int(duplicate)
        self.accepted_by_kind[kind] += 1

    def count_unknown(self, event_type: str) -> None:
        self.unknown_types += 1
        known = event_type in self.unknown_by_type or len(self.unknown_by_type) < MAX_UNKNOWN_TYPE_NAMES
        self.unknown_by_type[event_type if known else OTHER_TYPES] += 1

    def snapshot(self) -> WebhookStats:
        return WebhookStats(**_figures(self))
