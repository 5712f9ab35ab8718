"""A throwaway PostgreSQL cluster for outage tests: its own data directory and port, stopped and started by the
test (``immediate`` is a crash: nothing not yet on disk survives), dropped afterwards. It is never the server
the other tests share.

Use the fixture by importing it into a test module (``from tests.integration.outage import throwaway_postgres``)
and marking the tests ``postgres``::

    async def test_something_survives_a_crash(throwaway_postgres: ThrowawayPostgres) -> None:
        url = throwaway_postgres.create_database("app")
        ...
        throwaway_postgres.stop()   # immediate
        throwaway_postgres.start()

It needs Debian's ``pg_createcluster`` tools and root (they create the cluster for the ``postgres`` user). Where
they are missing the tests are skipped on a developer machine and fail under CI (``CI`` set), as the shared
server's tests do. Creating, starting and dropping a cluster takes a few seconds.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

PORTS = range(5433, 5500)
NAME_PREFIX = "sahha_outage_"
READY_TIMEOUT = 60.0


def _run(*command: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return done.stdout


def _version() -> str:
    """The newest installed PostgreSQL major version (``/usr/lib/postgresql/<version>``)."""
    versions = sorted((p.name for p in Path("/usr/lib/postgresql").iterdir() if p.name.isdigit()), key=int)
    if not versions:
        raise RuntimeError("no PostgreSQL server is installed under /usr/lib/postgresql")
    return versions[-1]


def _ports_taken() -> set[int]:
    """Ports of every cluster pg_lsclusters knows (running or not)."""
    lines = _run("pg_lsclusters", "--no-header").splitlines()
    return {int(line.split()[2]) for line in lines if len(line.split()) > 2 and line.split()[2].isdigit()}


def _free_port() -> int:
    taken = _ports_taken()
    for port in PORTS:
        if port in taken:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1} for a throwaway cluster")


def unavailable_reason() -> str | None:
    """Why no throwaway cluster can be made here, or None."""
    if shutil.which("pg_createcluster") is None or shutil.which("pg_ctlcluster") is None:
        return "pg_createcluster/pg_ctlcluster are not installed (Debian's postgresql-common)"
    if os.geteuid() != 0:
        return "a throwaway cluster needs root (pg_createcluster creates it for the postgres user)"
    return None


@dataclass
class ThrowawayPostgres:
    """One cluster of its own: ``url(database)`` to reach it, ``stop``/``start`` for outages."""

    version: str
    name: str
    port: int

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def configure(self, **settings: str) -> None:
        """``ALTER SYSTEM SET`` each setting, then reload (settings that need a restart take one)."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            for name, value in settings.items():
                conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value)))
            conn.execute("SELECT pg_reload_conf()")

    def stop(self, *, mode: str = "immediate") -> None:
        """Stop the server; ``immediate`` is a crash (no shutdown checkpoint, unflushed WAL lost)."""
        _run("pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, "stop", "-m", mode)

    def start(self) -> None:
        """Start the server (after an immediate stop it recovers from its WAL) and wait until it answers."""
        _run("pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, "start")
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                with psycopg.connect(self.url(), connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def drop(self) -> None:
        _run("pg_dropcluster", "--stop", self.version, self.name)


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[ThrowawayPostgres]:
    """A new cluster on a free port with trust authentication, started; dropped (data and all) afterwards."""
    cluster = ThrowawayPostgres(_version(), f"{NAME_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:6]}", _free_port())
    _run(
        "pg_createcluster", "--port", str(cluster.port), "--start-conf", "manual",
        cluster.version, cluster.name, "--", "--auth-host=trust", "--auth-local=trust",
    )  # fmt: skip
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.drop()


@pytest.fixture
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    """A throwaway cluster for one test (see the module doc); mark the test ``postgres``."""
    reason = unavailable_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    with throwaway_cluster() as cluster:
        yield cluster
