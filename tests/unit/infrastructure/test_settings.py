"""Settings: the variables README.md lists, their defaults, and one line naming the variable when one is bad."""

from __future__ import annotations

import io
import sys

import pytest

from sahha_sync.domain.errors import InvalidInputError, SahhaSyncError
from sahha_sync.infrastructure.settings import Settings, SettingsError, env_name


def test_with_nothing_set_everything_runs_on_embedded_defaults() -> None:
    settings = Settings()
    assert settings.source == "emulator"
    assert settings.database_url == "sqlite:///./sahha_sync.db"
    assert settings.queue == "memory"
    assert settings.analyst == "offline"
    assert settings.sahha_api_base_url == "https://api.sahha.ai"
    assert (settings.sahha_rate_limit_delay, settings.sahha_max_retries, settings.sahha_request_timeout) == (
        0.5,
        3,
        30.0,
    )
    assert (settings.lookback_hours, settings.initial_days) == (48, 7)
    assert (settings.max_staleness, settings.archetype_period, settings.webhook_silence) == (3600, 86400, 86400)
    assert settings.webhook_secret is None


def test_the_seed_variable_names_are_read_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAHHA_API_BASE_URL", "https://sandbox-api.sahha.ai/")
    monkeypatch.setenv("SAHHA_CLIENT_ID", "client-1")
    monkeypatch.setenv("SAHHA_CLIENT_SECRET", "s3cr3t-value")
    monkeypatch.setenv("SAHHA_RATE_LIMIT_DELAY", "0.25")
    monkeypatch.setenv("SAHHA_MAX_RETRIES", "5")
    monkeypatch.setenv("SAHHA_REQUEST_TIMEOUT", "12")
    settings = Settings()
    assert settings.sahha_api_base_url == "https://sandbox-api.sahha.ai"
    assert settings.sahha_client_id == "client-1"
    assert settings.sahha_client_secret is not None
    assert settings.sahha_client_secret.get_secret_value() == "s3cr3t-value"
    assert (settings.sahha_rate_limit_delay, settings.sahha_max_retries, settings.sahha_request_timeout) == (
        0.25,
        5,
        12.0,
    )


def test_the_source_defaults_to_sahha_once_a_client_id_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAHHA_CLIENT_ID", "client-1")
    monkeypatch.setenv("SAHHA_CLIENT_SECRET", "secret")
    assert Settings().source == "sahha"


def test_the_analyst_defaults_to_openai_once_an_api_key_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:9999/v1")
    settings = Settings()
    assert settings.analyst == "openai"
    assert settings.openai_base_url == "http://localhost:9999/v1"


def test_the_project_variables_are_read_with_their_sahha_sync_names(monkeypatch: pytest.MonkeyPatch) -> None:
    values = {
        "SAHHA_SYNC_SOURCE": "emulator",
        "SAHHA_SYNC_DATABASE_URL": "postgresql://app:pw@db.example:5432/health",
        "SAHHA_SYNC_QUEUE": "postgres",
        "SAHHA_SYNC_ANALYST": "offline",
        "SAHHA_SYNC_OPENAI_MODEL": "gpt-4.1",
        "SAHHA_SYNC_LOOKBACK_HOURS": "72",
        "SAHHA_SYNC_INITIAL_DAYS": "14",
        "SAHHA_SYNC_LOG_FORMAT": "console",
        "SAHHA_SYNC_WEBHOOK_SECRET": "whsec",
        "SAHHA_SYNC_MAX_STALENESS": "0",
        "SAHHA_SYNC_ARCHETYPE_PERIOD": "604800",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert (settings.source, settings.queue, settings.analyst, settings.openai_model) == (
        "emulator",
        "postgres",
        "offline",
        "gpt-4.1",
    )
    assert (settings.lookback_hours, settings.initial_days, settings.log_format) == (72, 14, "console")
    assert (settings.max_staleness, settings.archetype_period) == (0, 604800)
    assert settings.webhook_secret is not None
    assert settings.webhook_secret.get_secret_value() == "whsec"
    assert settings.database_url_for_display == "postgresql://app:***@db.example:5432/health"


@pytest.mark.parametrize(
    ("given", "read"),
    [
        ("postgres://app:pw@db.example:5432/health", "postgresql://app:pw@db.example:5432/health"),
        (" postgres+psycopg://app@db.example/health ", "postgresql+psycopg://app@db.example/health"),
        ("postgresql://app@db.example/health", "postgresql://app@db.example/health"),
        ("sqlite:///./postgres.db", "sqlite:///./postgres.db"),
    ],
)
def test_a_postgres_scheme_url_is_read_as_postgresql(monkeypatch: pytest.MonkeyPatch, given: str, read: str) -> None:
    monkeypatch.setenv("SAHHA_SYNC_DATABASE_URL", given)
    monkeypatch.setenv("SAHHA_SYNC_QUEUE", "postgres" if "postgres" in read.split(":")[0] else "memory")
    settings = Settings()
    assert settings.database_url == read
    assert settings.uses_postgres == read.startswith("postgresql")


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@pytest.mark.parametrize(("tty", "expected"), [(True, "console"), (False, "json")])
def test_the_log_format_is_console_on_a_terminal_and_json_elsewhere(
    monkeypatch: pytest.MonkeyPatch, tty: bool, expected: str
) -> None:
    monkeypatch.setattr(sys, "stderr", _Stream(tty))
    assert Settings().log_format == expected


def test_fields_can_be_given_by_name_and_an_empty_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAHHA_SYNC_SOURCE", "")
    settings = Settings.from_env(queue="memory", initial_days=3)
    assert (settings.source, settings.initial_days) == ("emulator", 3)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SAHHA_SYNC_QUEUE", "redis"),
        ("SAHHA_SYNC_SOURCE", "fitbit"),
        ("SAHHA_SYNC_ANALYST", "claude"),
        ("SAHHA_SYNC_LOG_FORMAT", "xml"),
        ("SAHHA_SYNC_LOOKBACK_HOURS", "-1"),
        ("SAHHA_SYNC_INITIAL_DAYS", "0"),
        ("SAHHA_SYNC_INITIAL_DAYS", "a week"),
        ("SAHHA_MAX_RETRIES", "many"),
        ("SAHHA_RATE_LIMIT_DELAY", "-0.5"),
        ("SAHHA_REQUEST_TIMEOUT", "0"),
        ("SAHHA_API_BASE_URL", "ftp://api.sahha.ai"),
        ("SAHHA_SYNC_DATABASE_URL", "not a url"),
        ("SAHHA_SYNC_DATABASE_URL", "mysql://u:pw@host/db"),
        ("OPENAI_BASE_URL", "localhost:8080"),
    ],
)
def test_a_bad_value_stops_start_up_with_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        Settings()
    message = str(caught.value)
    assert message.startswith(f"{variable}:")
    assert "\n" not in message
    assert caught.value.variable == variable
    assert isinstance(caught.value, InvalidInputError)
    assert isinstance(caught.value, SahhaSyncError)


@pytest.mark.parametrize(
    ("environment", "variable"),
    [
        ({"SAHHA_SYNC_SOURCE": "sahha"}, "SAHHA_CLIENT_ID"),
        ({"SAHHA_CLIENT_ID": "client-1"}, "SAHHA_CLIENT_SECRET"),
        ({"SAHHA_SYNC_ANALYST": "openai"}, "OPENAI_API_KEY"),
        ({"SAHHA_SYNC_QUEUE": "postgres"}, "SAHHA_SYNC_QUEUE"),
        ({"SAHHA_SYNC_RUN_WORKERS": "false"}, "SAHHA_SYNC_RUN_WORKERS"),
    ],
)
def test_a_missing_companion_setting_is_named(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], variable: str
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        Settings()
    assert str(caught.value).startswith(f"{variable}:")
    assert caught.value.variable == variable


def test_secrets_never_appear_in_errors_or_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAHHA_CLIENT_SECRET", "very-secret-value")
    monkeypatch.setenv("SAHHA_SYNC_DATABASE_URL", "postgresql://app:db-password@host/db")
    monkeypatch.setenv("SAHHA_SYNC_QUEUE", "postgres")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-key")
    settings = Settings()
    assert "very-secret-value" not in repr(settings)
    assert "db-password" not in repr(settings)
    assert "sk-secret-key" not in repr(settings)
    monkeypatch.setenv("SAHHA_SYNC_DATABASE_URL", "mysql://app:db-password@host/db")
    with pytest.raises(SettingsError) as caught:
        Settings()
    assert "db-password" not in str(caught.value)


def test_every_field_has_the_environment_variable_the_readme_names() -> None:
    assert {name: env_name(name) for name in Settings.model_fields} == {
        "sahha_api_base_url": "SAHHA_API_BASE_URL",
        "sahha_client_id": "SAHHA_CLIENT_ID",
        "sahha_client_secret": "SAHHA_CLIENT_SECRET",
        "sahha_rate_limit_delay": "SAHHA_RATE_LIMIT_DELAY",
        "sahha_max_retries": "SAHHA_MAX_RETRIES",
        "sahha_request_timeout": "SAHHA_REQUEST_TIMEOUT",
        "source": "SAHHA_SYNC_SOURCE",
        "database_url": "SAHHA_SYNC_DATABASE_URL",
        "queue": "SAHHA_SYNC_QUEUE",
        "db_schema": "SAHHA_SYNC_SCHEMA",
        "run_workers": "SAHHA_SYNC_RUN_WORKERS",
        "worker_concurrency": "SAHHA_SYNC_WORKER_CONCURRENCY",
        "archival_batch": "SAHHA_SYNC_ARCHIVAL_BATCH",
        "analyst": "SAHHA_SYNC_ANALYST",
        "openai_model": "SAHHA_SYNC_OPENAI_MODEL",
        "lookback_hours": "SAHHA_SYNC_LOOKBACK_HOURS",
        "initial_days": "SAHHA_SYNC_INITIAL_DAYS",
        "max_staleness": "SAHHA_SYNC_MAX_STALENESS",
        "archetype_period": "SAHHA_SYNC_ARCHETYPE_PERIOD",
        "webhook_silence": "SAHHA_SYNC_WEBHOOK_SILENCE",
        "log_format": "SAHHA_SYNC_LOG_FORMAT",
        "webhook_secret": "SAHHA_SYNC_WEBHOOK_SECRET",
        "openai_api_key": "OPENAI_API_KEY",
        "openai_base_url": "OPENAI_BASE_URL",
    }
