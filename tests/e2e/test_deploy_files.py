"""The container image and the systemd units under ``deploy/`` start commands and options that exist."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import CliResult

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
Cli = Callable[..., CliResult]


def unit_commands() -> list[list[str]]:
    found = []
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        for line in unit.read_text().splitlines():
            if line.startswith("ExecStart="):
                found.append(shlex.split(line.removeprefix("ExecStart="))[1:])
    return found


def image_commands() -> list[list[str]]:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    (cmd,) = re.findall(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE)
    return [json.loads(cmd), ["webhook", "serve", "--host", "0.0.0.0", "--port", "8080"]]


def test_each_unit_and_the_image_start_a_worker_or_the_webhook_server() -> None:
    started = {tuple(command[:2]) for command in unit_commands() + image_commands()}
    assert started == {("worker", "--concurrency"), ("webhook", "serve")}


@pytest.mark.parametrize("command", unit_commands() + image_commands(), ids=" ".join)
def test_the_command_and_its_options_exist(cli: Cli, command: list[str]) -> None:
    code, out, err = cli(*command, "--help")
    assert code == 0, err
    assert "Usage" in out
