"""The library's loggers: silent until the host configures logging.

Library modules take ``log = get_logger(__name__)``. Once anything has configured structlog (the host, or
``sahha_sync.infrastructure.configure_logging`` at an entrypoint such as the command line), such a logger
follows that configuration, exactly like ``structlog.get_logger``. Until then it does not fall back on
structlog's default printer (which writes every level to stdout): it logs through the standard ``logging``
module under its module's name (``sahha_sync.…``), redacted and rendered as ``event=… key=value`` text. The
``sahha_sync`` logger has a ``NullHandler``, so a host that configures no logging sees nothing at all, and a host
that does (``logging.basicConfig(level=logging.INFO)``) sees the library's events like any other library's.
"""

from __future__ import annotations

import logging
from typing import Any

import structlog
from structlog.typing import Processor

from sahha_sync.application.log_redaction import redact_sensitive

ROOT_LOGGER = "sahha_sync"

logging.getLogger(ROOT_LOGGER).addHandler(logging.NullHandler())

STDLIB_PROCESSORS: list[Processor] = [
    structlog.stdlib.filter_by_level,  # a level the host's logging drops costs nothing more
    structlog.contextvars.merge_contextvars,
    structlog.processors.StackInfoRenderer(),
    structlog.processors.format_exc_info,
    redact_sensitive,
    structlog.processors.LogfmtRenderer(key_order=["event"], drop_missing=True),
]


class LibraryLogger:
    """A logger for one library module; every method (``info``, ``warning``, ``bind``…) is that of the logger
    the current configuration gives (see the module's docstring)."""

    __slots__ = ("_name", "_stdlib")

    def __init__(self, name: str) -> None:
        self._name = name
        self._stdlib: Any = None

    def __getattr__(self, method: str) -> Any:
        return getattr(self.current(), method)

    def current(self) -> Any:
        """structlog's logger once structlog is configured; else one on the standard logging module."""
        if structlog.is_configured():
            return structlog.get_logger(self._name)
        if self._stdlib is None:
            self._stdlib = structlog.wrap_logger(
                logging.getLogger(self._name),
                processors=STDLIB_PROCESSORS,
                wrapper_class=structlog.stdlib.BoundLogger,
                context_class=dict,
            ).bind()
        return self._stdlib


def get_logger(name: str) -> LibraryLogger:
    """The logger of the library module ``name`` (pass ``__name__``)."""
    return LibraryLogger(name)
