"""What every command shares: the settings, logging set-up, running a coroutine, one-line failures."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Coroutine
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console

from sahha_sync.infrastructure.logging import configure_logging, mask_text
from sahha_sync.infrastructure.settings import Settings

T = TypeVar("T")

PROG = "sahha-sync"
EXIT_BAD_INPUT = 2
EXIT_FAILED = 1

out = Console(highlight=False, soft_wrap=True)


class CliState:
    """Set by the top-level callback: the settings every command reads, and the chosen log level."""

    def __init__(self, settings: Settings, log_level: str) -> None:
        self.settings = settings
        self.log_level = log_level


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):  # a command invoked without the callback (never via main)
        root.obj = CliState(Settings.from_env(), "warning")
    return root.obj


def setup(ctx: typer.Context, log_level: str) -> CliState:
    """Read the settings (a bad value stops here, naming the variable) and configure logging once."""
    settings = Settings.from_env()
    configure_logging(settings.log_format, log_level)
    cli_state = CliState(settings, log_level)
    ctx.obj = cli_state
    return cli_state


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    """Print ``sahha-sync: error: <message>`` (one line, secrets masked) on stderr and exit with ``code``."""
    _say("error", message)
    raise SystemExit(code)


def confirm(question: str, *, refusal: str) -> None:
    """Ask ``question`` on a terminal (no: abort, exit 130); with no terminal to ask on, fail with ``refusal``
    (exit 2) so that a script must say ``--yes``."""
    if not sys.stdin.isatty():
        fail(refusal, EXIT_BAD_INPUT)
    typer.confirm(question, abort=True)


def warn(message: str) -> None:
    """Print ``sahha-sync: warning: <message>`` (one line, secrets masked) on stderr."""
    _say("warning", message)


def _say(kind: str, message: str) -> None:
    line = " ".join(mask_text(str(message)).split())
    print(f"{PROG}: {kind}: {line}", file=sys.stderr)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
