"""The redaction processor keeps secrets, tokens and health values out of the logs (README.md, "What it promises")."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from structlog.testing import capture_logs

from sahha_sync.infrastructure.logging import REDACTED, configure_logging, redact_sensitive

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEiLCJleHAiOjE3MDAwMDB9.c2lnbmF0dXJlLXZhbHVlLWhlcmU"


def _logged(**context: object) -> dict[str, object]:
    with capture_logs(processors=[redact_sensitive]) as logs:
        structlog.get_logger("test").info("something.happened", **context)
    assert len(logs) == 1
    return logs[0]


def test_health_values_under_their_keys_are_redacted() -> None:
    entry = _logged(
        value="72.5",
        value_numeric=72.5,
        score=0.81,
        factors=[{"name": "sleep_duration", "value": 431}],
        biomarkers=[{"type": "steps", "value": "10234"}],
        scores=[{"type": "sleep", "score": 0.7}],
        payload={"user_id": "u"},
        sahha_data={"biomarkers": []},
        raw="{...}",
    )
    for key in ("value", "value_numeric", "score", "factors", "biomarkers", "scores", "payload", "sahha_data", "raw"):
        assert entry[key] == REDACTED, key


def test_secrets_and_tokens_under_their_keys_are_redacted() -> None:
    entry = _logged(
        client_secret="abc",
        token="t",
        access_token="at",
        account_token="act",
        api_key="sk-1",
        password="pw",
        Authorization="account xyz",
        openai_api_key="sk-2",
    )
    for key in ("client_secret", "token", "access_token", "account_token", "api_key", "password", "Authorization"):
        assert entry[key] == REDACTED, key
    assert entry["openai_api_key"] == REDACTED


def test_sensitive_keys_nested_inside_other_values_are_redacted() -> None:
    entry = _logged(request={"headers": {"Authorization": "account abc"}, "json": {"clientSecret": "s"}})
    assert entry["request"] == {"headers": {"Authorization": REDACTED}, "json": {"clientSecret": REDACTED}}


def test_jwts_bearer_tokens_and_url_passwords_are_masked_wherever_they_appear() -> None:
    entry = _logged(
        detail=f"refresh failed for {JWT} at postgresql://app:db-pass@db.example:5432/health",
        header="Bearer abcdefghijklmnopqrstuvwxyz012345",
        note="client_secret=hunter22 api_key: sk-abcdef",
        items=[f"token {JWT}"],
    )
    text = json.dumps(entry)
    for secret in (JWT, "db-pass", "abcdefghijklmnopqrstuvwxyz012345", "hunter22", "sk-abcdef"):
        assert secret not in text, secret
    assert "postgresql://app:***@db.example:5432/health" in str(entry["detail"])


def test_the_event_name_and_ordinary_metadata_are_kept() -> None:
    entry = _logged(
        run_id="run-1", user_id="user-0001", inserted=3, scores_synced=True, prompt_tokens=120, window_start="2026"
    )
    assert entry["event"] == "something.happened"
    assert entry["run_id"] == "run-1"
    assert entry["user_id"] == "user-0001"
    assert (entry["inserted"], entry["scores_synced"], entry["prompt_tokens"]) == (3, True, 120)


@contextlib.contextmanager
def configured_json_logging() -> Iterator[None]:
    """``configure_logging("json", "info")`` for the block; the root logger and structlog restored after it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    configure_logging("json", "info")
    try:
        yield
    finally:
        structlog.reset_defaults()
        root.handlers[:] = handlers
        root.setLevel(level)


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_configured_logging_renders_json_on_stderr_with_secrets_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    with configured_json_logging():
        structlog.get_logger("test").info("sahha.token_refreshed", account_token=JWT, expires_in=86400)
        structlog.get_logger("test").debug("hidden.at_info_level")
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = json_lines(captured.err)
    assert [line["event"] for line in lines] == ["sahha.token_refreshed"]
    assert lines[0]["account_token"] == REDACTED
    assert lines[0]["expires_in"] == 86400
    assert JWT not in captured.err


def test_records_of_the_standard_library_are_rendered_and_redacted_the_same_way(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with configured_json_logging():
        logging.getLogger("procrastinate.worker").warning("job failed with Authorization: Bearer %s", JWT)
        logging.getLogger("httpx").info("hidden below warning")
    captured = capsys.readouterr()
    lines = json_lines(captured.err)
    assert len(lines) == 1
    assert lines[0]["logger"] == "procrastinate.worker"
    assert lines[0]["level"] == "warning"
    assert JWT not in captured.err
    assert REDACTED in str(lines[0]["event"])
