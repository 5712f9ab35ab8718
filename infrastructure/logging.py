"""structlog, configured once by the entrypoints (the command line, a worker) and never by library code.

Until something configures it, the library logs through the standard ``logging`` module and so prints nothing
(``sahha_sync.application.logs``). ``redact_sensitive`` is the processor that keeps secrets, tokens and health
values out of the logs (``sahha_sync.application.log_redaction``); it is part of every configuration made here.
"""

from __future__ import annotations

import logging
import sys
from typing import Literal

import structlog
from structlog.typing import Processor

from sahha_sync.application.log_redaction import (
    REDACTED,
    SENSITIVE_KEYS,
    is_sensitive_key,
    mask_text,
    redact,
    redact_sensitive,
)

__all__ = [
    "REDACTED",
    "SENSITIVE_KEYS",
    "configure_logging",
    "is_sensitive_key",
    "mask_text",
    "redact",
    "redact_sensitive",
    "shared_processors",
]


def shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        redact_sensitive,
    ]


def configure_logging(format: Literal["json", "console"] = "json", level: str | int = "INFO") -> None:
    """Configure structlog (and the standard library's root logger) once, at the edge.

    Logs go to stderr, so commands that print results on stdout stay machine-readable.
    """
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    renderer: Processor = (
        structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
        if format == "console"
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[*shared_processors(), renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
    # The standard library's records (procrastinate, httpx, uvicorn...) go through the same redaction and
    # renderer: their message text is masked like ours, and their ``extra`` fields are left out.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                redact_sensitive,
                renderer,
            ],
        )
    )
    logging.basicConfig(level=max(numeric, logging.WARNING), handlers=[handler], force=True)
    for noisy in ("httpx", "httpcore", "openai", "aiosqlite", "sqlalchemy", "alembic", "procrastinate"):
        logging.getLogger(noisy).setLevel(max(numeric, logging.WARNING))
