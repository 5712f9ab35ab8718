"""The Analyst contract, run against the offline analyst and the OpenAI analyst on a mock transport."""

from __future__ import annotations

import pytest

from sahha_sync.adapters.llm import OfflineAnalyst
from sahha_sync.application.ports.analyst import Analyst
from sahha_sync.testing.analyst import AnalystContract


class TestOfflineAnalyst(AnalystContract):
    @pytest.fixture
    def analyst(self) -> Analyst:
        return OfflineAnalyst()
