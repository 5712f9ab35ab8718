import asyncio
import base64
import json
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from sahha_sync.adapters.sahha.emulator import EMULATOR_CLIENT_SECRET
from sahha_sync.application.ports.health_data_source import SahhaAuthError


def jwt(exp: float) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256'})}.{part({'exp': int(exp)})}.signature"


def empty(request: httpx.Request) -> httpx.Response:
    return httpx.Response(204)


async def test_the_token_is_requested_with_the_credentials_and_sent_as_an_account_token(make_source, stub, week):
    fake = stub(empty, [httpx.Response(200, json={"accountToken": "tok-123", "expiresIn": 86400})])
    await make_source(fake.transport, client_id="id-1", client_secret="secret-1").fetch("u", week)
    (token_request,) = fake.token_requests
    assert token_request.method == "POST"
    assert json.loads(token_request.content) == {"clientId": "id-1", "clientSecret": "secret-1"}
    assert {r.headers["authorization"] for r in fake.data_requests} == {"account tok-123"}


async def test_the_token_is_reused_by_later_fetches(make_source, stub, week):
    fake = stub(empty)
    source = make_source(fake.transport)
    for _ in range(5):
        await source.fetch("u", week)
    assert len(fake.token_requests) == 1
    assert source.stats().token_refreshes == 1


async def test_fifty_fetches_started_together_without_a_token_cause_one_token_request(make_source, stub, week):
    async def slow_token_then_empty(request: httpx.Request) -> httpx.Response:
        return httpx.Response(204)

    fake = stub(slow_token_then_empty)
    source = make_source(fake.transport)
    await asyncio.gather(*(source.fetch(f"user-{i}", week) for i in range(50)))
    assert len(fake.token_requests) == 1
    assert len(fake.data_requests) == 100


async def test_fifty_concurrent_fetches_share_one_token_from_the_emulator(make_source, emulator, week):
    source = make_source(emulator)
    await asyncio.gather(*(source.fetch(pid, week) for pid in emulator.population.profile_ids * 9))
    assert emulator.count("token") == 1


async def test_the_token_is_renewed_23_hours_after_issue_even_when_it_lives_24(make_source, stub, fake_time, week):
    fake = stub(empty)
    source = make_source(fake.transport)
    await source.fetch("u", week)
    fake_time.advance(22.9 * 3600)
    await source.fetch("u", week)
    assert len(fake.token_requests) == 1
    fake_time.advance(0.2 * 3600)
    await source.fetch("u", week)
    assert len(fake.token_requests) == 2


async def test_a_shorter_expires_in_renews_the_token_earlier(make_source, stub, fake_time, week):
    fake = stub(empty, [httpx.Response(200, json={"accountToken": "short", "expiresIn": 600})])
    source = make_source(fake.transport)
    await source.fetch("u", week)
    fake_time.advance(530)
    await source.fetch("u", week)
    assert len(fake.token_requests) == 1
    fake_time.advance(20)  # within the renewal margin before expiry
    await source.fetch("u", week)
    assert len(fake.token_requests) == 2


async def test_the_jwt_exp_claim_bounds_the_token_when_expires_in_is_missing(make_source, stub, fake_time, week):
    token = jwt(fake_time.wall_clock() + 1200)
    fake = stub(empty, [httpx.Response(200, json={"accountToken": token})])
    source = make_source(fake.transport)
    await source.fetch("u", week)
    fake_time.advance(1000)
    await source.fetch("u", week)
    assert len(fake.token_requests) == 1
    fake_time.advance(150)
    await source.fetch("u", week)
    assert len(fake.token_requests) == 2


async def test_a_401_gets_a_new_token_and_the_request_is_retried_once(make_source, emulator, week):
    source = make_source(emulator)
    await source.fetch("user-0001", week)
    emulator.revoke_tokens()
    records = await source.fetch("user-0001", week)
    assert records.biomarkers
    assert emulator.count("token") == 2
    assert emulator.count("biomarker", 401) == 1
    assert source.stats().token_refreshes == 2


async def test_a_second_401_in_a_row_is_an_auth_error(make_source, stub, week):
    fake = stub(lambda request: httpx.Response(401, json={"title": "Unauthorized", "statusCode": 401}))
    with pytest.raises(SahhaAuthError):
        await make_source(fake.transport).fetch("u", week)
    assert len(fake.token_requests) == 2


async def test_concurrent_401s_renew_the_token_once(make_source, emulator, week):
    source = make_source(emulator)
    await source.fetch("user-0001", week)
    emulator.revoke_tokens()
    await asyncio.gather(*(source.fetch(pid, week) for pid in emulator.population.profile_ids))
    assert emulator.count("token") == 2


async def test_bad_credentials_are_an_auth_error_and_are_not_retried(make_source, emulator, week):
    source = make_source(emulator, client_secret="wrong")
    with pytest.raises(SahhaAuthError, match="400"):
        await source.fetch("user-0001", week)
    assert emulator.count("token") == 1


async def test_the_token_and_the_secret_never_reach_the_logs(make_source, emulator, week):
    source = make_source(emulator)
    with capture_logs() as logs:
        await source.fetch("user-0001", week)
        emulator.revoke_tokens()
        await source.fetch("user-0002", week)
    text = repr(logs)
    assert any(entry["event"] == "sahha.token_refreshed" for entry in logs)
    assert EMULATOR_CLIENT_SECRET not in text
    assert "eyJ" not in text  # no JWT, nor a piece of one
