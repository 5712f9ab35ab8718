"""Where fresh health data comes from: Sahha (``SahhaHealthDataSource``) or a fake."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol, runtime_checkable

from sahha_sync.domain.errors import SahhaSyncError
from sahha_sync.domain.health import FetchMetrics, HealthRecords
from sahha_sync.domain.windows import FetchWindow


class HealthDataSourceError(SahhaSyncError):
    """The source could not deliver the data. ``status_code`` and ``endpoint``: the answer that failed, when there
    was one; ``api``: what the failed fetch cost at the source's API, when the source counts it (None otherwise)."""

    api: FetchMetrics | None = None

    def __init__(self, message: str, *, status_code: int | None = None, endpoint: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.endpoint = endpoint


class SahhaUnavailableError(HealthDataSourceError):
    """Network failure, timeout, 429 or 5xx after the retries ran out; trying later may work."""

    retryable: ClassVar[bool] = True


class SahhaAuthError(HealthDataSourceError):
    """The credentials were refused (bad client id/secret, or the wrong environment)."""


class SahhaRequestError(HealthDataSourceError):
    """Sahha refused the request as malformed (400, 403, 404, 409); retrying the same request will not help."""


class SahhaAccountRemovedError(HealthDataSourceError):
    """410: the Sahha account was removed. Stop; do not retry."""


class SahhaResponseError(HealthDataSourceError):
    """Sahha answered with something that is not the documented shape (e.g. a body that is not JSON)."""


@runtime_checkable
class HealthDataSource(Protocol):
    """Biomarkers, scores and (when asked) Sahha archetypes of one user over a window."""

    @abstractmethod
    async def fetch(self, user_id: str, window: FetchWindow, *, include_archetypes: bool = False) -> HealthRecords:
        """Every record whose span meets ``window`` (``window.overlaps(*record.period)``: biomarkers and
        archetypes by ``[start, end]``, scores by the day they describe, from their score time).

        ``user_id`` is the host's user id (Sahha knows it as the external id); any string round-trips. Records that
        cannot be parsed are returned in ``quarantined`` with a reason, and the rest still come back. An
        unknown user yields empty records. Failures raise ``HealthDataSourceError`` subclasses only.

        Optionally, a source that talks to an API reports what this call cost there (requests, successes,
        failures by kind, retries, 429s, token refreshes — caused by this call alone, not by concurrent ones) in
        ``HealthRecords.api``, and on failure in the error's ``api``; other sources leave both None.
        """

    def client_stats(self) -> Mapping[str, Any] | None:
        """This process's running counters of the source's client (requests, retries, 429s, cache hits …) as a
        JSON-ready mapping, for monitoring; None (the default) for a source that keeps none."""
        return None
