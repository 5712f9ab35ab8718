"""Analysts: the offline one (deterministic, from computed metrics) and the OpenAI one (structured output)."""

from sahha_sync.adapters.llm.offline import OFFLINE_MODEL, OFFLINE_VERSION, OfflineAnalyst
from sahha_sync.adapters.llm.openai_analyst import DEFAULT_MODEL, AnalysisReply, OpenAIAnalyst, ReplyInsight
from sahha_sync.adapters.llm.prompt import DEFAULT_TOKEN_BUDGET, PROMPT_VERSION, Prompt, build_prompt, estimate_tokens

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_TOKEN_BUDGET",
    "OFFLINE_MODEL",
    "OFFLINE_VERSION",
    "PROMPT_VERSION",
    "AnalysisReply",
    "OfflineAnalyst",
    "OpenAIAnalyst",
    "Prompt",
    "ReplyInsight",
    "build_prompt",
    "estimate_tokens",
]
