"""Analysts: the offline one (deterministic, from computed metrics) and the OpenAI one (structured output)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sahha_sync.adapters._lazy import lazy_exports
from sahha_sync.adapters.llm.offline import OFFLINE_MODEL, OFFLINE_VERSION, OfflineAnalyst
from sahha_sync.adapters.llm.prompt import DEFAULT_TOKEN_BUDGET, PROMPT_VERSION, Prompt, build_prompt, estimate_tokens

if TYPE_CHECKING:
    from sahha_sync.adapters.llm.openai_analyst import DEFAULT_MODEL as DEFAULT_MODEL
    from sahha_sync.adapters.llm.openai_analyst import AnalysisReply as AnalysisReply
    from sahha_sync.adapters.llm.openai_analyst import OpenAIAnalyst as OpenAIAnalyst
    from sahha_sync.adapters.llm.openai_analyst import ReplyInsight as ReplyInsight

_LAZY = dict.fromkeys(("DEFAULT_MODEL", "AnalysisReply", "OpenAIAnalyst", "ReplyInsight"), "openai_analyst")

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


# The names of ``_LAZY`` are imported on first use: their modules need the openai package.
__getattr__ = lazy_exports(__name__, _LAZY)
