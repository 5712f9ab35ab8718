import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from structlog.testing import capture_logs

from sahha_sync.application.ports.health_data_source import (
    HealthDataSourceError,
    SahhaAccountRemovedError,
    SahhaRequestError,
    SahhaUnavailableError,
)


class AtTheTop(random.Random):
    """Every draw at the top of its range: each backoff waits its whole ceiling."""

    def uniform(self, a: float, b: float) -> float:
        return b


def scripted(*answers: httpx.Response | Exception):
    """A handler that gives ``answers`` in turn (raising the exceptions), then 204 for ever."""
    queue = list(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        if not queue:
            return httpx.Response(204)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handle


def biomarkers_only(handler):
    """Route score requests to an empty answer, so only the biomarker request meets ``handler``."""

    def handle(request: httpx.Request):
        return handler(request) if "/biomarker/" in request.url.path else httpx.Response(204)

    return handle


async def test_a_429_waits_the_seconds_retry_after_names_then_succeeds(make_source, stub, fake_time, week):
    fake = stub(biomarkers_only(scripted(httpx.Response(429, headers={"Retry-After": "7"}))))
    source = make_source(fake.transport)
    await source.fetch("u", week)
    assert 7.0 in fake_time.slept
    assert source.stats().rate_limited == 1
    assert source.stats().retries == 1


async def test_a_429_with_an_http_date_waits_until_that_date(make_source, stub, fake_time, week):
    when = datetime.fromtimestamp(fake_time.wall_clock(), UTC) + timedelta(seconds=12)
    fake = stub(biomarkers_only(scripted(httpx.Response(429, headers={"Retry-After": format_datetime(when, True)}))))
    await make_source(fake.transport).fetch("u", week)
    assert any(abs(s - 12.0) < 1e-6 for s in fake_time.slept)


async def test_a_retry_after_on_503_is_obeyed_too(make_source, stub, fake_time, week):
    fake = stub(biomarkers_only(scripted(httpx.Response(503, headers={"Retry-After": "3"}))))
    await make_source(fake.transport).fetch("u", week)
    assert 3.0 in fake_time.slept


async def test_a_retry_after_holds_every_request_of_the_client(make_source, emulator, fake_time, week):
    emulator.faults.add(429)
    source = make_source(emulator)
    await source.fetch("user-0001", week)
    # the hold is shared: the other route's request (started later) did not start during the wait either
    assert sum(fake_time.slept) >= 1.0
    assert emulator.count(status=429) == 1


async def test_a_5xx_then_success_returns_the_data(make_source, emulator, fake_time, week):
    emulator.faults.add(500, 502)
    source = make_source(emulator)
    records = await source.fetch("user-0001", week)
    assert records == emulator.ground_truth("user-0001", week, include_archetypes=False)
    assert source.stats().failures["server_error"] == 2
    assert source.stats().retries == 2


async def test_retries_run_out_after_max_retries_and_raise_unavailable(make_source, stub, fake_time, week):
    fake = stub(biomarkers_only(lambda request: httpx.Response(500)))
    source = make_source(fake.transport, max_retries=3)
    with pytest.raises(SahhaUnavailableError, match="4 attempts"):
        await source.fetch("u", week)
    assert len([r for r in fake.data_requests if "/biomarker/" in r.url.path]) == 4
    assert source.stats().failed_fetches == 1


async def test_backoff_grows_exponentially_with_full_jitter_and_is_capped(make_source, stub, fake_time, week):
    fake = stub(biomarkers_only(lambda request: httpx.Response(502)))
    source = make_source(fake.transport, max_retries=6, backoff_base=1.0, backoff_cap=8.0, rng=AtTheTop())
    with pytest.raises(SahhaUnavailableError):
        await source.fetch("u", week)
    assert fake_time.slept == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


async def test_each_backoff_is_a_random_part_of_its_ceiling(make_source, stub, fake_time, week):
    fake = stub(biomarkers_only(lambda request: httpx.Response(502)))
    source = make_source(fake.transport, max_retries=6, backoff_base=1.0, backoff_cap=8.0, rng=random.Random(3))
    with pytest.raises(SahhaUnavailableError):
        await source.fetch("u", week)
    ceilings = [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert all(0 <= wait <= ceiling for wait, ceiling in zip(fake_time.slept, ceilings, strict=True))
    assert fake_time.slept != ceilings


@pytest.mark.parametrize("status", [400, 403, 404, 409])
async def test_client_errors_are_not_retried(make_source, stub, fake_time, week, status):
    fake = stub(biomarkers_only(lambda request: httpx.Response(status, json={"title": "Nope"})))
    source = make_source(fake.transport)
    with pytest.raises(SahhaRequestError) as caught:
        await source.fetch("u", week)
    assert caught.value.status_code == status
    assert caught.value.endpoint == "/api/v1/profile/biomarker/{externalId}"
    assert len([r for r in fake.data_requests if "/biomarker/" in r.url.path]) == 1
    assert fake_time.slept == []


async def test_410_means_the_account_was_removed_and_is_not_retried(make_source, stub, week):
    fake = stub(biomarkers_only(lambda request: httpx.Response(410)))
    source = make_source(fake.transport)
    with pytest.raises(SahhaAccountRemovedError):
        await source.fetch("u", week)
    assert len([r for r in fake.data_requests if "/biomarker/" in r.url.path]) == 1
    assert source.stats().failures["account_removed"] == 1


async def test_an_error_body_becomes_part_of_the_typed_error(make_source, stub, week):
    body = {
        "title": "Validation failed",
        "statusCode": 400,
        "location": "/api/v1/profile/biomarker",
        "errors": [{"origin": "startDateTime", "errors": ["must be a date"]}],
    }
    fake = stub(biomarkers_only(lambda request: httpx.Response(400, json=body)))
    with pytest.raises(SahhaRequestError) as caught:
        await make_source(fake.transport).fetch("u", week)
    problem = caught.value.problem  # type: ignore[attr-defined]
    assert problem.title == "Validation failed"
    assert problem.errors == (("startDateTime", ("must be a date",)),)
    assert "startDateTime: must be a date" in str(caught.value)


async def test_an_error_without_a_body_still_raises_the_typed_error(make_source, stub, week):
    fake = stub(biomarkers_only(lambda request: httpx.Response(404, text="<html>not found</html>")))
    with pytest.raises(SahhaRequestError, match="404"):
        await make_source(fake.transport).fetch("u", week)


async def test_a_request_that_times_out_is_retried_then_reported_unavailable(make_source, emulator, week):
    emulator.faults.add(*["timeout"] * 4)  # both routes, twice each
    source = make_source(emulator, request_timeout=0.05, max_retries=1)
    with pytest.raises(SahhaUnavailableError, match="no answer within"):
        await source.fetch("user-0001", week)
    assert source.stats().failures["timeout"] >= 2


async def test_a_timeout_followed_by_an_answer_returns_the_data(make_source, emulator, week):
    emulator.faults.add("timeout")
    source = make_source(emulator, request_timeout=0.05)
    records = await source.fetch("user-0001", week)
    assert records == emulator.ground_truth("user-0001", week, include_archetypes=False)


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("refused"),
        httpx.ReadError("reset"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("x"),
    ],
)
async def test_network_failures_are_retried_and_never_leak_httpx_types(make_source, stub, week, failure):
    fake = stub(biomarkers_only(scripted(failure, failure, failure, failure)))
    source = make_source(fake.transport, max_retries=3)
    with pytest.raises(HealthDataSourceError) as caught:
        await source.fetch("u", week)
    assert isinstance(caught.value, SahhaUnavailableError)
    assert not isinstance(caught.value, httpx.HTTPError)


async def test_a_network_failure_then_an_answer_returns_the_data(make_source, stub, week):
    fake = stub(biomarkers_only(scripted(httpx.ConnectError("refused"))))
    records = await make_source(fake.transport).fetch("u", week)
    assert records.total_items == 0


async def test_a_retry_after_longer_than_the_client_waits_fails_at_once(make_source, stub, fake_time, week):
    fake = stub(biomarkers_only(scripted(httpx.Response(429, headers={"Retry-After": "3600"}))))
    with pytest.raises(SahhaUnavailableError, match="3600"):
        await make_source(fake.transport, max_retry_after=60).fetch("u", week)
    assert fake_time.slept == []


async def test_each_retry_is_logged_with_a_dotted_name_and_no_url_or_id(make_source, stub, week):
    fake = stub(biomarkers_only(scripted(httpx.Response(503))))
    with capture_logs() as logs:
        await make_source(fake.transport).fetch("secret-user-id", week)
    (entry,) = [e for e in logs if e["event"] == "sahha.retry_scheduled"]
    assert entry["endpoint"] == "/api/v1/profile/biomarker/{externalId}"
    assert entry["attempt"] == 1
    assert "secret-user-id" not in repr(logs)


async def test_a_429_widens_the_clients_spacing_so_it_stops_overrunning_the_limit(make_source, stub, week):
    fake = stub(biomarkers_only(scripted(httpx.Response(429, headers={"Retry-After": "1"}))))
    with capture_logs() as logs:
        await make_source(fake.transport, rate_limit_delay=0.5).fetch("u", week)
    (entry,) = [e for e in logs if e["event"] == "sahha.rate_reduced"]
    assert entry["spacing_ms"] == pytest.approx(550.0)
