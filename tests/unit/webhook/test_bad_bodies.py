"""A signed body that no store could take, or that no sane sender writes, is refused with 400 naming the problem —
never a 500 (a sender retries a 5xx for ever) — and leaves nothing behind."""

from __future__ import annotations

import pytest

from tests.unit.webhook.deliveries import USER, Harness, biomarker_body, encode, signed_headers


def nested(depth: int) -> bytes:
    """A biomarker body whose ``value`` nests ``depth`` lists deep."""
    return encode(biomarker_body())[:-1] + b', "extra": ' + b"[" * depth + b"]" * depth + b"}"


async def post(hooks: Harness, raw: bytes) -> tuple[int, str]:
    response = await hooks.client.post("/", content=raw, headers=signed_headers(raw))
    await hooks.drain()
    return response.status_code, response.json().get("reason", "")


@pytest.mark.parametrize("depth", [33, 5_000, 100_000])
async def test_a_deeply_nested_body_is_refused_with_400(hooks: Harness, depth: int) -> None:
    assert await post(hooks, nested(depth)) == (400, "too_deeply_nested")
    assert hooks.nothing_stored


async def test_nesting_as_deep_as_a_record_ever_goes_is_accepted(hooks: Harness) -> None:
    assert (await post(hooks, nested(8)))[0] == 202


@pytest.mark.parametrize(
    "text",
    [
        rb'"734519\u0000"',  # a NUL in a value
        rb'"\ud800"',  # a lone high surrogate
        rb'"\udfff tail"',  # a lone low surrogate
    ],
    ids=["nul", "high-surrogate", "low-surrogate"],
)
async def test_text_no_database_can_store_is_refused_with_400(hooks: Harness, text: bytes) -> None:
    raw = encode(biomarker_body()).replace(b'"734519"', text)

    assert await post(hooks, raw) == (400, "invalid_text")
    assert hooks.nothing_stored
    assert not hooks.stores.archive.quarantined


async def test_a_nul_in_a_key_is_refused_too(hooks: Harness) -> None:
    raw = encode(biomarker_body())[:-1] + rb', "odd\u0000key": 1}'

    assert await post(hooks, raw) == (400, "invalid_text")


@pytest.mark.parametrize("field", ["externalId", "id", "profileId", "accountId"])
async def test_an_id_of_absurd_length_is_refused_with_400(hooks: Harness, field: str) -> None:
    long_id = "u" * 10_000
    raw = encode(biomarker_body(**{field: long_id}))
    header = long_id if field == "externalId" else USER

    response = await hooks.client.post("/", content=raw, headers=signed_headers(raw, external_id=header))
    await hooks.drain()

    assert (response.status_code, response.json()["reason"]) == (400, "invalid_id")
    assert long_id not in response.text
    assert hooks.nothing_stored


async def test_an_external_id_with_control_characters_is_refused_with_400(hooks: Harness) -> None:
    raw = encode(biomarker_body(externalId="user\u0007bell"))

    response = await hooks.client.post("/", content=raw, headers=signed_headers(raw, external_id=None))

    assert (response.status_code, response.json()["reason"]) == (400, "invalid_external_id")


async def test_every_refusal_is_counted_by_reason(hooks: Harness) -> None:
    await post(hooks, nested(50))
    await post(hooks, encode(biomarker_body()).replace(b'"734519"', rb'"\u0000"'))

    assert hooks.receiver.stats().rejected == {"too_deeply_nested": 1, "invalid_text": 1}
