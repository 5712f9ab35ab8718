"""A throwaway PostgreSQL cluster of its own, on a free port, that a test may stop and start (a database blip)
without touching the server every other test uses. Created with ``pg_createcluster`` (trust authentication,
loopback only), migrated, and dropped afterwards; it needs the PostgreSQL server binaries and the right to run
``pg_ctlcluster`` (root or postgres), as CI has."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sahha_sync import migrations

POSTGRES_CONFIGS = Path("/etc/postgresql")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Cluster:
    version: str
    name: str
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        command = ["pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, *args]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        """A fast shutdown: every connection is cut, as when the database server restarts."""
        self._ctl("stop", "--mode", "fast")


@pytest.fixture
def throwaway_cluster() -> Iterator[Cluster]:
    version = sorted((p.name for p in POSTGRES_CONFIGS.iterdir()), key=float)[-1]
    cluster = Cluster(version, f"sahha_blip_{os.getpid()}_{uuid.uuid4().hex[:6]}", free_port())
    subprocess.run(
        ["pg_createcluster", version, cluster.name, "--port", str(cluster.port), "--", "--auth=trust"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    try:
        cluster.start()
        migrations.upgrade(cluster.url)
        yield cluster
    finally:
        subprocess.run(
            ["pg_dropcluster", "--stop", version, cluster.name], check=False, capture_output=True, timeout=60
        )
