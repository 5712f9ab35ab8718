"""Analysts: the offline one (deterministic, from computed metrics) and the OpenAI one (structured output)."""

from sahha_sync.adapters.llm.offline import OFFLINE_MODEL, OFFLINE_VERSION, OfflineAnalyst

__all__ = ["OFFLINE_MODEL", "OFFLINE_VERSION", "OfflineAnalyst"]
