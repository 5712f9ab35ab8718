"""Settings from the environment: the seed's ``SAHHA_*`` names and the project's ``SAHHA_SYNC_*`` names.

With nothing set, everything runs on embedded defaults (a SQLite file, the in-memory queue, the Sahha
emulator, the offline analyst). A bad value stops start-up with a ``SettingsError`` whose one-line message
names the variable; it never repeats a secret or a password.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from sahha_sync.domain.errors import InvalidInputError

DEFAULT_DATABASE_URL = "sqlite:///./sahha_sync.db"
DEFAULT_OPENAI_MODEL = "gpt-4o"
MEMORY_DATABASE_URL = "memory://"
DAY_SECONDS = 86_400
# An hour: wearables reach Sahha in uploads that lag by tens of minutes to hours (hence the 48 h lookback), so
# archived data an hour old misses little that a fetch would bring, while both analyses of an app open, and
# the opens within the hour, share one fetch. README, "Freshness", says what each value saves.
DEFAULT_MAX_STALENESS = 3600.0
DEFAULT_ARCHETYPE_PERIOD = float(DAY_SECONDS)  # Sahha's archetypes are weekly or monthly
# A day: a user's data reaches Sahha a few times a day (the night is quiet); a day without any delivery means
# their webhooks or their phone stopped, and polling takes over.
DEFAULT_WEBHOOK_SILENCE = float(DAY_SECONDS)

Source = Literal["sahha", "emulator"]
QueueKind = Literal["memory", "postgres"]
AnalystKind = Literal["offline", "openai"]
LogFormat = Literal["json", "console"]


class SettingsError(InvalidInputError):
    """A setting has a bad value; the message is one line that names the environment variable."""

    def __init__(self, message: str, *, variable: str | None = None) -> None:
        super().__init__(message, field=variable)
        self.variable = variable


class Settings(BaseSettings):
    """Every setting of sahha-sync. Fields are read from the environment variable named in their alias,
    or given by field name (``Settings(queue="memory")``)."""

    model_config = SettingsConfigDict(
        case_sensitive=False,
        extra="ignore",
        validate_by_name=True,
        validate_by_alias=True,
        frozen=True,
    )

    sahha_api_base_url: str = Field("https://api.sahha.ai", validation_alias="SAHHA_API_BASE_URL")
    sahha_client_id: str | None = Field(None, validation_alias="SAHHA_CLIENT_ID")
    sahha_client_secret: SecretStr | None = Field(None, validation_alias="SAHHA_CLIENT_SECRET")
    sahha_rate_limit_delay: float = Field(0.5, ge=0, le=60, validation_alias="SAHHA_RATE_LIMIT_DELAY")
    sahha_max_retries: int = Field(3, ge=0, le=20, validation_alias="SAHHA_MAX_RETRIES")
    sahha_request_timeout: float = Field(30.0, gt=0, le=600, validation_alias="SAHHA_REQUEST_TIMEOUT")

    source: Source = Field(validation_alias="SAHHA_SYNC_SOURCE")
    database_url: str = Field(DEFAULT_DATABASE_URL, repr=False, validation_alias="SAHHA_SYNC_DATABASE_URL")
    queue: QueueKind = Field("memory", validation_alias="SAHHA_SYNC_QUEUE")
    db_schema: str = Field("sahha_sync", pattern=r"^[a-z_][a-z0-9_]{0,62}$", validation_alias="SAHHA_SYNC_SCHEMA")
    run_workers: bool = Field(True, validation_alias="SAHHA_SYNC_RUN_WORKERS")
    worker_concurrency: int = Field(8, ge=1, le=256, validation_alias="SAHHA_SYNC_WORKER_CONCURRENCY")
    archival_batch: int = Field(32, ge=1, le=256, validation_alias="SAHHA_SYNC_ARCHIVAL_BATCH")
    analyst: AnalystKind = Field(validation_alias="SAHHA_SYNC_ANALYST")
    openai_model: str = Field(DEFAULT_OPENAI_MODEL, min_length=1, validation_alias="SAHHA_SYNC_OPENAI_MODEL")
    lookback_hours: float = Field(48.0, ge=0, le=24 * 366, validation_alias="SAHHA_SYNC_LOOKBACK_HOURS")
    initial_days: int = Field(7, ge=1, le=366, validation_alias="SAHHA_SYNC_INITIAL_DAYS")
    max_staleness: float = Field(
        DEFAULT_MAX_STALENESS, ge=0, le=7 * DAY_SECONDS, validation_alias="SAHHA_SYNC_MAX_STALENESS"
    )
    archetype_period: float = Field(
        DEFAULT_ARCHETYPE_PERIOD, ge=0, le=31 * DAY_SECONDS, validation_alias="SAHHA_SYNC_ARCHETYPE_PERIOD"
    )
    webhook_silence: float = Field(
        DEFAULT_WEBHOOK_SILENCE, ge=0, le=31 * DAY_SECONDS, validation_alias="SAHHA_SYNC_WEBHOOK_SILENCE"
    )
    log_format: LogFormat = Field(validation_alias="SAHHA_SYNC_LOG_FORMAT")
    webhook_secret: SecretStr | None = Field(None, validation_alias="SAHHA_SYNC_WEBHOOK_SECRET")

    openai_api_key: SecretStr | None = Field(None, validation_alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(None, validation_alias="OPENAI_BASE_URL")

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise settings_error(exc) from None

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """The settings the environment gives, with ``overrides`` (by field name) taking precedence."""
        return cls(**overrides)

    @model_validator(mode="before")
    @classmethod
    def _derived_defaults(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        values = dict(data)
        defaults = {
            "source": "sahha" if _given(values, "sahha_client_id") else "emulator",
            "analyst": "openai" if _given(values, "openai_api_key") else "offline",
            "log_format": "console" if sys.stderr.isatty() else "json",
        }
        for field, default in defaults.items():
            given = _given(values, field)
            for key in [k for k in values if k.lower() in (field, env_name(field).lower())]:
                del values[key]
            values[field] = default if given is None else given
        return values

    @field_validator("source", "queue", "analyst", "log_format", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("sahha_api_base_url", "openai_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return None if value is None else value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        value = normalised_database_url(value)
        if value == MEMORY_DATABASE_URL:
            return MEMORY_DATABASE_URL
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("is not a database URL (expected e.g. sqlite:///./sahha_sync.db)") from None
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError(f"names an unsupported database {url.get_backend_name()!r} (sqlite or postgresql)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.source == "sahha" and not (self.sahha_client_id and self.sahha_client_secret):
            missing = "SAHHA_CLIENT_ID" if not self.sahha_client_id else "SAHHA_CLIENT_SECRET"
            raise _Inconsistent(missing, "is required when SAHHA_SYNC_SOURCE is sahha")
        if self.analyst == "openai" and self.openai_api_key is None:
            raise _Inconsistent("OPENAI_API_KEY", "is required when SAHHA_SYNC_ANALYST is openai")
        if self.queue == "postgres" and not self.uses_postgres:
            raise _Inconsistent("SAHHA_SYNC_QUEUE", "is postgres, which needs a postgresql:// SAHHA_SYNC_DATABASE_URL")
        if not self.run_workers and self.queue != "postgres":
            raise _Inconsistent(
                "SAHHA_SYNC_RUN_WORKERS", "is false, which needs SAHHA_SYNC_QUEUE=postgres and `sahha-sync worker`s"
            )
        return self

    @property
    def uses_postgres(self) -> bool:
        return self.database_url.startswith("postgres")

    @property
    def uses_memory_stores(self) -> bool:
        return self.database_url == MEMORY_DATABASE_URL

    def data_source_name(self, data_source: str) -> str:
        """Where a run's data came from, named as configured: ``sahha`` or ``emulator`` for a live fetch (the use
        cases call any live source ``sahha``), ``archive`` when archived data stood in for a failed fetch."""
        return self.source if data_source == "sahha" else data_source

    @property
    def database_url_for_display(self) -> str:
        """The database URL with its password hidden, for messages and logs."""
        if self.uses_memory_stores:
            return self.database_url
        return make_url(self.database_url).render_as_string(hide_password=True)


def normalised_database_url(url: str) -> str:
    """``url`` trimmed, with the ``postgres://`` scheme many providers show (Heroku, Render, Fly, some Supabase
    pages) spelt ``postgresql://``, as SQLAlchemy requires."""
    url = url.strip()
    return "postgresql" + url.removeprefix("postgres") if url.startswith(("postgres://", "postgres+")) else url


class _Inconsistent(ValueError):
    def __init__(self, variable: str, reason: str) -> None:
        super().__init__(f"{variable}: {reason}")
        self.variable = variable


SECRET_FIELDS = frozenset({"sahha_client_secret", "openai_api_key", "webhook_secret", "database_url"})


def env_name(field: str) -> str:
    """The environment variable of a field (``queue`` → ``SAHHA_SYNC_QUEUE``); unknown names pass through."""
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info is not None else None
    return alias if isinstance(alias, str) else field.upper()


def _field_of(loc_item: str) -> str | None:
    for name, info in Settings.model_fields.items():
        if loc_item.lower() in (name, str(info.validation_alias).lower()):
            return name
    return None


def _given(values: Mapping[str, Any], field: str) -> Any:
    alias = env_name(field).lower()
    for key, value in values.items():
        if key.lower() in (field, alias) and value not in (None, ""):
            return value
    return None


def settings_error(exc: ValidationError) -> SettingsError:
    """One line naming the first bad variable; the offending value is shown only when it is not secret."""
    error = exc.errors()[0]
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, _Inconsistent):
        return SettingsError(str(cause), variable=cause.variable)
    field = _field_of(str(error["loc"][0])) if error["loc"] else None
    variable = env_name(field) if field else str(error["loc"][0] if error["loc"] else "settings")
    reason = str(error["msg"]).removeprefix("Value error, ")
    shown = ""
    if field is not None and field not in SECRET_FIELDS and isinstance(error.get("input"), str | int | float):
        shown = f" (got {str(error['input'])[:60]!r})"
    return SettingsError(f"{variable}: {reason}{shown}".replace("\n", " "), variable=variable)
