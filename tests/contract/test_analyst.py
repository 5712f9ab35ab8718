"""The Analyst contract, run against the offline analyst and the OpenAI analyst on ``httpx.MockTransport``.

The OpenAI analyst also has to map every way the model service can fail onto the port's errors: a refusal,
malformed JSON, a page that is not JSON at all, 429, 500 and a timeout; and it keeps only the insights whose
figures are the computed ones.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import openai
import pytest

from sahha_sync.adapters.llm import OfflineAnalyst, OpenAIAnalyst
from sahha_sync.application.ports.analyst import (
    Analyst,
    AnalystError,
    AnalystRefusedError,
    AnalystResponseError,
    AnalystUnavailableError,
)
from sahha_sync.testing.analyst import AnalystContract, sample_input

Handler = Callable[[httpx.Request], httpx.Response]

WELL_FORMED = {
    "summary": "Steps are steady on weekdays and lower at weekends.",
    "insights": [
        {"text": "A typical day had 8,640 steps.", "metric": "behavior.steps.level"},  # sample_input()'s median
        {"text": "Free days have 2,060 fewer steps than work days.", "metric": "behavior.steps.free_minus_work"},
        {"text": "A figure with a name the code never computed.", "metric": "behavior.made_up"},
        {"text": "Your VO2max of 52 is excellent.", "metric": "behavior.steps.level"},
        {"text": "Steps averaged about 8,400 a day.", "metric": "behavior.steps.level"},
        {"text": "Steps look healthy.", "metric": None},
    ],
    "recommendations": ["Take a longer walk on Saturdays."],
    "data_quality_notes": ["Two weeks of data."],
}


def completion(content: str | None, *, refusal: str | None = None, finish_reason: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_764_380_000,
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": refusal},
                "finish_reason": finish_reason,
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 2345, "completion_tokens": 321, "total_tokens": 2666},
    }


def answer(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Handler:
    return lambda request: httpx.Response(status, json=body, headers=headers)


def recording(seen: list[dict[str, Any]]) -> Handler:
    """A well-formed answer to every request, whose JSON body is appended to ``seen``."""

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(200, json=completion(json.dumps(WELL_FORMED)))

    return handler


def error_body(status: int) -> dict[str, Any]:
    return {"error": {"message": f"status {status}", "type": "server_error", "code": None, "param": None}}


@pytest.fixture
async def analyst_on() -> AsyncIterator[Callable[..., OpenAIAnalyst]]:
    """Builds an OpenAIAnalyst whose HTTP calls go to ``handler``; ``max_retries`` 0 unless asked."""
    clients: list[httpx.AsyncClient] = []

    def build(handler: Handler, **options: Any) -> OpenAIAnalyst:
        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        clients.append(http)
        client = openai.AsyncOpenAI(api_key="sk-test", base_url="http://llm.test/v1", http_client=http)
        options.setdefault("max_retries", 0)
        return OpenAIAnalyst(client, model="gpt-4o", **options)

    yield build
    for http in clients:
        await http.aclose()


class TestOfflineAnalyst(AnalystContract):
    @pytest.fixture
    def analyst(self) -> Analyst:
        return OfflineAnalyst()


class TestOpenAIAnalyst(AnalystContract):
    @pytest.fixture
    def analyst(self, analyst_on: Callable[..., OpenAIAnalyst]) -> Analyst:
        return analyst_on(answer(completion(json.dumps(WELL_FORMED))))


class TestOpenAIAnalystReplies:
    async def test_a_well_formed_reply_becomes_the_analysis_with_its_token_use(
        self, analyst_on: Callable[..., OpenAIAnalyst]
    ) -> None:
        analysis = await analyst_on(answer(completion(json.dumps(WELL_FORMED)))).analyse(sample_input())

        assert analysis.analyst == "openai"
        assert analysis.model == "gpt-4o"
        assert analysis.summary == WELL_FORMED["summary"]
        assert analysis.recommendations == ("Take a longer walk on Saturdays.",)
        assert (analysis.prompt_tokens, analysis.completion_tokens) == (2345, 321)
        assert "Two weeks of data." in analysis.data_quality_notes

    async def test_insights_without_a_given_metric_or_with_a_wrong_figure_are_dropped_and_counted(
        self, analyst_on: Callable[..., OpenAIAnalyst]
    ) -> None:
        analysis = await analyst_on(answer(completion(json.dumps(WELL_FORMED)))).analyse(sample_input())

        assert [i.text for i in analysis.insights] == [
            "A typical day had 8,640 steps.",
            "Free days have 2,060 fewer steps than work days.",
        ]
        assert analysis.dropped_insights == 4
        assert any(note.startswith("4 of the model's insight(s) were left out") for note in analysis.data_quality_notes)

    async def test_the_model_is_asked_at_temperature_zero_without_calendar_dates(
        self, analyst_on: Callable[..., OpenAIAnalyst]
    ) -> None:
        seen: list[dict[str, Any]] = []
        await analyst_on(recording(seen)).analyse(sample_input(analysis_type="circadian", sahha_sleep_days=True))

        assert seen[0]["temperature"] == 0
        messages = seen[0]["messages"][0]["content"] + seen[0]["messages"][1]["content"]
        assert not re.search(r"\d{4}-\d{2}-\d{2}", messages)
        assert "## Glossary" in messages

    @pytest.mark.parametrize(
        ("body", "content_type"),
        [
            (b"<html><body><h1>Sign in to the proxy</h1></body></html>", "text/html"),
            (b"OK", "text/plain"),
            (b'{"unexpected": true}', "application/json"),
        ],
    )
    async def test_a_200_answer_that_is_not_a_chat_completion_raises_analyst_response_error(
        self, analyst_on: Callable[..., OpenAIAnalyst], body: bytes, content_type: str
    ) -> None:
        analyst = analyst_on(lambda request: httpx.Response(200, content=body, headers={"content-type": content_type}))

        with pytest.raises(AnalystResponseError):
            await analyst.analyse(sample_input())

    async def test_the_request_asks_for_the_json_schema_and_carries_the_metrics(
        self, analyst_on: Callable[..., OpenAIAnalyst]
    ) -> None:
        seen: list[dict[str, Any]] = []
        await analyst_on(recording(seen)).analyse(sample_input())

        body = seen[0]
        assert body["model"] == "gpt-4o"
        assert body["response_format"]["type"] == "json_schema"
        assert body["response_format"]["json_schema"]["strict"] is True
        assert "behavior.steps.level = " in body["messages"][1]["content"]

    async def test_a_refusal_raises_analyst_refused(self, analyst_on: Callable[..., OpenAIAnalyst]) -> None:
        analyst = analyst_on(answer(completion(None, refusal="I can't help with that.")))

        with pytest.raises(AnalystRefusedError):
            await analyst.analyse(sample_input())

    async def test_a_content_filter_stop_raises_analyst_refused(self, analyst_on: Callable[..., OpenAIAnalyst]) -> None:
        analyst = analyst_on(answer(completion(None, finish_reason="content_filter")))

        with pytest.raises(AnalystRefusedError):
            await analyst.analyse(sample_input())

    @pytest.mark.parametrize(
        "content",
        ['{"summary": "cut off', '{"summary": "no other fields"}', "[]", "not json at all"],
    )
    async def test_malformed_json_raises_analyst_response_error(
        self, analyst_on: Callable[..., OpenAIAnalyst], content: str
    ) -> None:
        analyst = analyst_on(answer(completion(content)))

        with pytest.raises(AnalystResponseError):
            await analyst.analyse(sample_input())

    async def test_an_answer_cut_off_at_the_token_limit_raises_analyst_response_error(
        self, analyst_on: Callable[..., OpenAIAnalyst]
    ) -> None:
        analyst = analyst_on(answer(completion('{"summary": "cut', finish_reason="length")))

        with pytest.raises(AnalystResponseError):
            await analyst.analyse(sample_input())

    @pytest.mark.parametrize("status", [429, 500, 502, 503])
    async def test_rate_limits_and_server_errors_raise_analyst_unavailable(
        self, analyst_on: Callable[..., OpenAIAnalyst], status: int
    ) -> None:
        analyst = analyst_on(answer(error_body(status), status=status))

        with pytest.raises(AnalystUnavailableError) as raised:
            await analyst.analyse(sample_input())
        assert raised.value.retryable
        assert str(status) in str(raised.value)

    async def test_a_timeout_raises_analyst_unavailable(self, analyst_on: Callable[..., OpenAIAnalyst]) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            raise httpx.ReadTimeout("timed out", request=request)

        with pytest.raises(AnalystUnavailableError, match="did not answer within 5 s"):
            await analyst_on(handler, timeout=5.0).analyse(sample_input())

    async def test_a_connection_failure_raises_analyst_unavailable(
        self, analyst_on: Callable[..., OpenAIAnalyst]
    ) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("refused", request=request)

        with pytest.raises(AnalystUnavailableError):
            await analyst_on(handler).analyse(sample_input())

    @pytest.mark.parametrize("status", [400, 401, 404])
    async def test_a_rejected_request_raises_a_plain_analyst_error(
        self, analyst_on: Callable[..., OpenAIAnalyst], status: int
    ) -> None:
        analyst = analyst_on(answer(error_body(status), status=status))

        with pytest.raises(AnalystError) as raised:
            await analyst.analyse(sample_input())
        assert not raised.value.retryable

    async def test_the_sdk_retries_a_429_once_when_allowed_and_the_adapter_adds_no_retries(
        self, analyst_on: Callable[..., OpenAIAnalyst]
    ) -> None:
        requests: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            requests.append(request)
            if len(requests) == 1:
                return httpx.Response(429, json=error_body(429), headers={"retry-after-ms": "1"})
            return httpx.Response(200, json=completion(json.dumps(WELL_FORMED)))

        analysis = await analyst_on(handler, max_retries=1).analyse(sample_input())

        assert analysis.summary
        assert len(requests) == 2

    async def test_with_retries_used_up_the_failure_is_reported_once(
        self, analyst_on: Callable[..., OpenAIAnalyst]
    ) -> None:
        requests: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            requests.append(request)
            return httpx.Response(503, json=error_body(503), headers={"retry-after-ms": "1"})

        with pytest.raises(AnalystUnavailableError):
            await analyst_on(handler, max_retries=2).analyse(sample_input())
        assert len(requests) == 3
