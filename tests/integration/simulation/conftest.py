"""Fixtures of the simulation tests: quiet logs, and a migrated SQLite file on a RAM disk."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync.adapters.sql import create_engine

RAM_DISK = Path("/dev/shm")


@pytest.fixture(autouse=True)
def quiet_logs() -> Iterator[None]:
    """Thousands of runs log at info; only warnings are kept here (the previous configuration is restored)."""
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    yield
    structlog.configure(**saved)


@pytest.fixture
def ram_sqlite_url(_sqlite_template: Path, tmp_path: Path) -> Iterator[str]:
    """The migrated SQLite file on a RAM disk when there is one: the simulation is about integrity, not fsync."""
    folder = Path(tempfile.mkdtemp(dir=RAM_DISK)) if RAM_DISK.is_dir() else tmp_path
    path = folder / "simulation.db"
    shutil.copyfile(_sqlite_template, path)
    yield f"sqlite:///{path}"
    if folder != tmp_path:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
async def ram_sqlite_engine(ram_sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(ram_sqlite_url)
    yield engine
    await engine.dispose()
