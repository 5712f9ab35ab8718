"""Every test here starts from an environment without sahha-sync or OpenAI settings."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("SAHHA_", "OPENAI_")):
            monkeypatch.delenv(name)
