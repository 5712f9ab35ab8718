"""Analysts: the offline one (deterministic, from computed metrics) and the OpenAI one (structured output)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    """The names of ``_LAZY`` are imported on first use: their modules need the openai package."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
