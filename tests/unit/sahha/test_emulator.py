import json
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
import pytest

from sahha_sync.adapters.sahha.dto import parse_records
from sahha_sync.adapters.sahha.emulator import (
    EMULATOR_BASE_URL,
    EMULATOR_CLIENT_ID,
    EMULATOR_CLIENT_SECRET,
    SahhaEmulator,
    SyntheticPopulation,
    emulator_transport,
)
from tests.unit.sahha._turns import other_task_turns

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)

CREDENTIALS = {"clientId": EMULATOR_CLIENT_ID, "clientSecret": EMULATOR_CLIENT_SECRET}
RANGE = [("startDateTime", "2026-11-22T00:00:00.000+00:00"), ("endDateTime", "2026-11-29T00:00:00.000Z")]
EVERYTHING = [("categories", "activity"), ("categories", "sleep"), ("types", "steps"), ("types", "sleep_duration")]


class Moment:
    def __init__(self, start):
        self.now = start

    def __call__(self):
        return self.now


@pytest.fixture
async def http(emulator):
    async with httpx.AsyncClient(transport=emulator_transport(emulator), base_url=EMULATOR_BASE_URL) as client:
        yield client


async def token(http) -> str:
    answer = await http.post("/api/v1/oauth/account/token", json=CREDENTIALS)
    return answer.json()["accountToken"]


async def test_the_token_route_answers_an_account_token_with_its_lifetime(http):
    answer = await http.post("/api/v1/oauth/account/token", json=CREDENTIALS)
    assert answer.status_code == 200
    assert answer.json()["expiresIn"] == 86400
    assert answer.json()["accountToken"].count(".") == 2


async def test_bad_credentials_answer_400_with_an_error_body(http):
    answer = await http.post("/api/v1/oauth/account/token", json={"clientId": "x", "clientSecret": "y"})
    assert answer.status_code == 400
    body = answer.json()
    assert set(body) == {"title", "statusCode", "location", "errors"}
    assert body["statusCode"] == 400
    assert body["errors"][0]["origin"] == "clientId"


async def test_a_bearer_token_or_none_answers_401(http):
    good = await token(http)
    for header in ({}, {"Authorization": f"Bearer {good}"}, {"Authorization": "account forged"}):
        answer = await http.get("/api/v1/profile/score/user-0001", params=RANGE, headers=header)
        assert answer.status_code == 401


async def test_an_expired_token_answers_401(population):
    clock = Moment(datetime(2026, 11, 29, tzinfo=UTC))
    emulator = SahhaEmulator(population, clock=clock, token_lifetime=timedelta(minutes=5))
    async with httpx.AsyncClient(transport=emulator_transport(emulator), base_url=EMULATOR_BASE_URL) as http:
        headers = {"Authorization": f"account {await token(http)}"}
        assert (await http.get("/api/v1/profile/score/user-0001", params=RANGE, headers=headers)).status_code == 200
        clock.now += timedelta(minutes=6)
        assert (await http.get("/api/v1/profile/score/user-0001", params=RANGE, headers=headers)).status_code == 401


async def test_biomarkers_need_categories_or_types(http):
    headers = {"Authorization": f"account {await token(http)}"}
    answer = await http.get("/api/v1/profile/biomarker/user-0001", params=RANGE, headers=headers)
    assert answer.status_code == 400
    assert {e["origin"] for e in answer.json()["errors"]} == {"categories"}


async def test_categories_alone_bring_every_type_of_them_even_unlisted_ones(http):
    headers = {"Authorization": f"account {await token(http)}"}
    params = [*RANGE, ("categories", "activity"), ("categories", "engagement")]
    answer = await http.get("/api/v1/profile/biomarker/user-0001", params=params, headers=headers)
    assert answer.status_code == 200
    assert {"steps", "app_sessions", "stand_hours"} <= {b["type"] for b in answer.json()}
    assert {b["category"] for b in answer.json()} == {"activity", "engagement"}


async def test_only_the_categories_and_types_asked_for_come_back(http):
    headers = {"Authorization": f"account {await token(http)}"}
    answer = await http.get("/api/v1/profile/biomarker/user-0001", params=RANGE + EVERYTHING, headers=headers)
    assert answer.status_code == 200
    assert {b["type"] for b in answer.json()} == {"steps", "sleep_duration"}


async def test_an_unencoded_plus_in_an_offset_is_a_400_as_on_sahha(http):
    headers = {"Authorization": f"account {await token(http)}"}
    url = "/api/v1/profile/score/user-0001?startDateTime=2026-11-22T00:00:00+10:00&endDateTime=2026-11-29T00:00:00Z"
    answer = await http.get(url, headers=headers)
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["origin"] == "startDateTime"


async def test_an_unknown_profile_or_an_empty_window_answers_204_or_an_empty_array():
    emulator = SahhaEmulator(SyntheticPopulation(seed=0, size=2, any_profile=False), clock=lambda: NOW)
    async with httpx.AsyncClient(transport=emulator_transport(emulator), base_url=EMULATOR_BASE_URL) as http:
        headers = {"Authorization": f"account {await token(http)}"}
        future = [("startDateTime", "2027-06-01T00:00:00Z"), ("endDateTime", "2027-06-02T00:00:00Z")]
        answers = [await http.get("/api/v1/profile/score/nobody", params=RANGE, headers=headers) for _ in range(6)]
        answers += [await http.get("/api/v1/profile/score/user-0001", params=future, headers=headers) for _ in range(6)]
    assert {(a.status_code, a.content) for a in answers} == {(204, b""), (200, b"[]")}


async def test_any_external_id_is_a_user_with_data(http):
    headers = {"Authorization": f"account {await token(http)}"}
    answer = await http.get("/api/v1/profile/score/alice", params=RANGE, headers=headers)
    assert answer.status_code == 200
    assert {s["externalId"] for s in answer.json()} == {"alice"}


async def test_an_unknown_route_answers_404(http):
    assert (await http.get("/api/v1/profile/nothing/user-0001")).status_code == 404


@pytest.mark.parametrize("form", ["seconds", "http-date"])
async def test_the_rate_limit_answers_429_with_retry_after(population, form):
    emulator = SahhaEmulator(population, rate_limit=2.0, burst=2, retry_after_format=form)
    async with httpx.AsyncClient(transport=emulator_transport(emulator), base_url=EMULATOR_BASE_URL) as http:
        answers = [await http.post("/api/v1/oauth/account/token", json=CREDENTIALS) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    retry_after = answers[2].headers["retry-after"]
    if form == "seconds":
        assert int(retry_after) >= 1
    else:
        assert parsedate_to_datetime(retry_after).tzinfo is not None


async def test_injected_faults_come_in_the_scripted_order(emulator, http):
    emulator.faults.add(503, "ok", 500)
    headers = {"Authorization": f"account {await token(http)}"}
    statuses = [
        (await http.get("/api/v1/profile/score/user-0001", params=RANGE, headers=headers)).status_code for _ in range(4)
    ]
    assert statuses == [503, 200, 500, 200]


async def test_every_request_is_logged_and_counted(emulator, http):
    headers = {"Authorization": f"account {await token(http)}"}
    await http.get("/api/v1/profile/score/a%2Fb%3F", params=RANGE, headers=headers)
    assert [r.route for r in emulator.requests] == ["token", "score"]
    assert emulator.requests[1].external_id == "a/b?"
    assert emulator.count("score", 200) == 1
    assert emulator.count() == 2


async def test_late_data_appears_as_the_emulators_clock_moves_on(population, week):
    clock = Moment(week.end)
    emulator = SahhaEmulator(population, clock=clock)
    before = emulator.ground_truth("user-0001", week)
    clock.now = week.end + timedelta(days=3)
    after = emulator.ground_truth("user-0001", week)
    assert {b.key for b in before.biomarkers} < {b.key for b in after.biomarkers}
    running = {b.key: b.value for b in before.biomarkers if b.periodicity == "intraday"}
    final = {b.key: b for b in after.biomarkers if b.key in running}
    assert running
    assert all(
        b.periodicity == "daily" and int(b.value) >= int(running[k]) for k, b in final.items() if b.type == "steps"
    )


def test_the_webhook_stream_pushes_every_version_with_created_at_and_version(emulator):
    pushes = emulator.webhook_stream("user-0001", NOW - timedelta(days=3), NOW)
    bodies = [json.loads(p.body) for p in pushes]
    assert {p.event_type for p in pushes} >= {"BiomarkerCreatedIntegrationEvent", "ScoreCreatedIntegrationEvent"}
    assert all("createdAtUtc" in b and "version" in b and b["externalId"] == "user-0001" for b in bodies)
    assert [p.created_at for p in pushes] == sorted(p.created_at for p in pushes)
    steps = [b for b in bodies if b.get("type") == "steps"]
    assert {b["periodicity"] for b in steps} == {"intraday", "daily"}  # running totals, then the day's value
    good, bad = parse_records("biomarker", [b for b in bodies if "category" in b], "user-0001", lambda: NOW)
    assert good
    assert bad == []


async def test_an_answer_lets_the_loops_other_tasks_in_between_its_steps(http):
    headers = {"Authorization": f"account {await token(http)}"}
    url = "/api/v1/profile/biomarker/user-0001"
    first = await http.get(url, params=[*EVERYTHING, *RANGE], headers=headers)  # draws the days: many steps
    async with other_task_turns() as turns:
        again = await http.get(url, params=[*EVERYTHING, *RANGE], headers=headers)  # days drawn: read and sent
    assert again.json() == first.json()
    assert turns.count >= 3  # arrival, records read, serialised, encoded: the other task ran between them
