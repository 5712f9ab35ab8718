"""End-to-end tests start from an environment without sahha-sync or OpenAI settings, and leave logging as it
was (commands configure it for the whole process)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import structlog

from sahha_sync.infrastructure.cli import main

CliResult = tuple[int, str, str]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("SAHHA_", "OPENAI_")):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """``cli("demo", "--users", "1")`` → ``(exit code, stdout, stderr)`` of the ``sahha-sync`` entry point."""

    def run(*args: str) -> CliResult:
        with pytest.raises(SystemExit) as exited:
            main(list(args))
        captured = capsys.readouterr()
        code = exited.value.code
        return (code if isinstance(code, int) else 1), captured.out, captured.err

    return run


def run_clean(args: list[str], cwd: Path, *, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``args`` in a process whose environment has no sahha-sync or OpenAI settings and the virtualenv's ``bin``
    first on ``PATH``; its output captured as text."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAHHA_", "OPENAI_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
