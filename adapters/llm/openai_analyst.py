"""The OpenAI analyst: structured output from a chat model, told only facts the code computed.

Retries are the SDK's, not ours: the adapter sets ``max_retries`` (and ``timeout``, per attempt) on its copy
of the client, and the SDK retries connection errors, timeouts, 408, 409, 429 and 5xx with exponential
backoff that honours ``Retry-After``. What still fails is mapped to the ``Analyst`` port's errors.
Any OpenAI-compatible server works: the client (built by the host or the container) reads
``OPENAI_BASE_URL``; the server must support ``response_format`` with a JSON schema. An answer that is not
JSON (a proxy's HTML page with status 200) is an ``AnalystResponseError``.

The model is asked at temperature 0, and its reply is checked against the computed metrics: an insight that
cites no metric it was given, or a figure that disagrees with it (``check_insight``), is dropped, counted in
``Analysis.dropped_insights`` and noted for the reader.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import openai
import pydantic
from openai.types.chat import ChatCompletionMessageParam, ParsedChatCompletion
from pydantic import BaseModel, ConfigDict, Field

from sahha_sync.adapters.llm.prompt import DEFAULT_TOKEN_BUDGET, PROMPT_VERSION, Prompt, build_prompt
from sahha_sync.application.logs import get_logger
from sahha_sync.application.ports.analyst import (
    AnalystError,
    AnalystRefusedError,
    AnalystResponseError,
    AnalystUnavailableError,
    HashingAnalyst,
)
from sahha_sync.domain.analysis import Analysis, AnalysisInput, Insight
from sahha_sync.domain.metrics import AnalysisFacts, check_insight, compute_facts, data_quality_notes, digest_figures

log = get_logger(__name__)

DEFAULT_MODEL = "gpt-4o"
DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_COMPLETION_TOKENS = 1500
TEMPERATURE = 0.0
_RETRYABLE_STATUS = frozenset({408, 409, 429})


class ReplyInsight(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="One finding, in plain language, with its figure.")
    metric: str | None = Field(description="The exact name of the metric this finding rests on.")


class AnalysisReply(BaseModel):
    """The structured answer asked of the model."""

    model_config = ConfigDict(extra="forbid")

    summary: str = Field(description="Two to four sentences.")
    insights: list[ReplyInsight]
    recommendations: list[str]
    data_quality_notes: list[str]


def _translate(exc: Exception, timeout: float) -> AnalystError:
    """The port's error for a failure of the SDK (messages carry no prompt text and no health value)."""
    if isinstance(exc, AnalystError):
        return exc
    if isinstance(exc, openai.APITimeoutError):
        return AnalystUnavailableError(f"the model service did not answer within {timeout:g} s")
    if isinstance(exc, openai.APIConnectionError):
        return AnalystUnavailableError("could not connect to the model service")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status in _RETRYABLE_STATUS or status >= 500:
            return AnalystUnavailableError(f"the model service answered HTTP {status}")
        return AnalystError(f"the model service rejected the request with HTTP {status}")
    if isinstance(exc, openai.ContentFilterFinishReasonError):
        return AnalystRefusedError("the model's answer was stopped by its content filter")
    if isinstance(exc, openai.LengthFinishReasonError):
        return AnalystResponseError("the model's answer was cut off at the completion token limit")
    if isinstance(exc, openai.APIResponseValidationError | pydantic.ValidationError | ValueError):
        return AnalystResponseError("the model's answer was not the structured output asked for")
    return AnalystError(f"the model call failed: {type(exc).__name__}")


class OpenAIAnalyst(HashingAnalyst):
    """An ``Analyst`` on ``openai.AsyncOpenAI`` chat completions with structured output (``AnalysisReply``)."""

    name = "openai"

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        *,
        model: str = DEFAULT_MODEL,
        timeout: float = 60.0,
        max_retries: int = DEFAULT_MAX_RETRIES,
        token_budget: int = DEFAULT_TOKEN_BUDGET,
        max_completion_tokens: int = DEFAULT_MAX_COMPLETION_TOKENS,
    ) -> None:
        self._client = client.with_options(timeout=timeout, max_retries=max_retries)
        self.model = model
        self.prompt_version = PROMPT_VERSION
        self.timeout = timeout
        self.token_budget = token_budget
        self.max_completion_tokens = max_completion_tokens

    def input_hash(self, analysis_input: AnalysisInput) -> str:
        """The ``input_hash`` an analysis of ``analysis_input`` would carry (without calling the model)."""
        return compute_facts(analysis_input).input_hash(prompt_version=self.prompt_version, model=self.model)

    def prompt_for(self, analysis_input: AnalysisInput) -> Prompt:
        return build_prompt(compute_facts(analysis_input), token_budget=self.token_budget)

    async def analyse(self, analysis_input: AnalysisInput) -> Analysis:
        try:
            facts = await asyncio.to_thread(compute_facts, analysis_input)  # CPU: off the host's event loop
        except Exception as exc:  # the port promises AnalystError only
            raise AnalystError(f"the metrics could not be computed: {type(exc).__name__}") from exc
        prompt = build_prompt(facts, token_budget=self.token_budget)
        input_hash = facts.input_hash(prompt_version=self.prompt_version, model=self.model)
        completion = await self._complete(prompt, input_hash)
        analysis = self._analysis(facts, self._reply(completion), input_hash)
        if completion.usage is not None:
            usage = completion.usage
            analysis = replace(analysis, prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens)
        log.info(
            "analyst.openai_completed", model=self.model, input_hash=input_hash,
            prompt_tokens=analysis.prompt_tokens, completion_tokens=analysis.completion_tokens,
            digest_days=prompt.digest_days, omitted_days=prompt.omitted_days,
        )  # fmt: skip
        return analysis

    async def _complete(self, prompt: Prompt, input_hash: str) -> ParsedChatCompletion[AnalysisReply]:
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": prompt.system},
            {"role": "user", "content": prompt.user},
        ]
        try:
            raw = await self._client.chat.completions.with_raw_response.parse(
                model=self.model,
                messages=messages,
                response_format=AnalysisReply,
                max_completion_tokens=self.max_completion_tokens,
                temperature=TEMPERATURE,
            )
            return _parsed(raw)
        except Exception as exc:
            error = _translate(exc, self.timeout)
            log.warning(
                "analyst.openai_failed", model=self.model, input_hash=input_hash,
                error_type=type(exc).__name__, status=getattr(exc, "status_code", None),
            )  # fmt: skip
            raise error from exc

    def _reply(self, completion: ParsedChatCompletion[AnalysisReply]) -> AnalysisReply:
        if not completion.choices:
            raise AnalystResponseError("the model's answer had no choices")
        message = completion.choices[0].message
        if message.refusal:
            log.warning("analyst.openai_refused", model=self.model)
            raise AnalystRefusedError("the model refused to analyse this input")
        if message.parsed is None:
            raise AnalystResponseError("the model's answer was empty")
        return message.parsed

    def _analysis(self, facts: AnalysisFacts, reply: AnalysisReply, input_hash: str) -> Analysis:
        if not reply.summary.strip():
            raise AnalystResponseError("the model's answer had an empty summary")
        insights, dropped = self._checked(facts, reply)
        notes = [*data_quality_notes(facts.metrics), *reply.data_quality_notes]
        if dropped:
            notes.append(f"{dropped} of the model's insight(s) were left out: they cited no computed metric or a "
                         "figure that disagrees with it.")  # fmt: skip
        return Analysis(
            summary=reply.summary.strip(),
            analyst=self.name,
            model=self.model,
            prompt_version=self.prompt_version,
            input_hash=input_hash,
            insights=insights,
            recommendations=tuple(r for r in reply.recommendations if r.strip()),
            data_quality_notes=tuple(dict.fromkeys(notes)),
            dropped_insights=dropped,
            metrics=facts.metrics.to_dict(),
        )

    def _checked(self, facts: AnalysisFacts, reply: AnalysisReply) -> tuple[tuple[Insight, ...], int]:
        """The reply's insights that pass ``check_insight``, and how many did not."""
        figures = digest_figures(facts.digest.rows)
        kept: list[Insight] = []
        for item in reply.insights:
            insight = Insight(item.text.strip(), item.metric)
            why = check_insight(insight, facts.metrics, digest_figures=figures)
            if why is None:
                kept.append(insight)
            else:  # the model's own text stays out of the log: only a metric name the code computed
                cited = item.metric if item.metric and facts.metrics.get(item.metric) else None
                log.warning("analyst.insight_dropped", model=self.model, metric=cited, why=why)
        return tuple(kept), len(reply.insights) - len(kept)


def _parsed(raw: Any) -> ParsedChatCompletion[AnalysisReply]:
    """The parsed completion of a raw 200 answer; ``AnalystResponseError`` when it is not a JSON completion."""
    content_type = str(raw.headers.get("content-type", ""))
    if "json" not in content_type.lower():
        raise AnalystResponseError(
            f"the model service answered HTTP {raw.status_code} with {content_type or 'no'} content, not JSON"
        )
    try:
        completion = raw.parse()
    except (AttributeError, TypeError, KeyError) as exc:
        raise AnalystResponseError("the model service's answer was not a chat completion") from exc
    if not isinstance(completion, ParsedChatCompletion):
        raise AnalystResponseError("the model service's answer was not a chat completion")
    return completion
