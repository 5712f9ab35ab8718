"""``sahha-sync emulator``: serve the Sahha emulator on loopback, for a client of your own to talk to."""

from __future__ import annotations

import typer

from sahha_sync.adapters.sahha.emulator import EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET, SyntheticPopulation, serve
from sahha_sync.infrastructure.cli import _ops
from sahha_sync.infrastructure.cli._common import out

HELP = (
    "Serve the Sahha API emulator (synthetic users user-0000 ...) until interrupted.\n\n"
    "Point a client at it with SAHHA_API_BASE_URL=http://HOST:PORT and the emulator's credentials, printed at "
    "start.\n\n"
    "Examples:\n\n"
    "  sahha-sync emulator --port 8765\n\n"
    "  sahha-sync emulator --port 8765 --users 100 --seed 7"
)


def emulator(
    port: int = typer.Option(8765, "--port", min=1, max=65535, help="TCP port to listen on."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback by default)."),
    users: int = typer.Option(20, "--users", min=1, max=100_000, help="How many synthetic users."),
    seed: int = typer.Option(0, "--seed", help="Seed of the synthetic population."),
) -> None:
    _ops.require_free_port(host, port)
    out.print(f"Sahha emulator on http://{host}:{port} — {users} users (user-0000 ...), seed {seed}")
    out.print(
        f"SAHHA_API_BASE_URL=http://{host}:{port} SAHHA_CLIENT_ID={EMULATOR_CLIENT_ID} "
        f"SAHHA_CLIENT_SECRET={EMULATOR_CLIENT_SECRET}"
    )
    serve(host, port, population=SyntheticPopulation(seed, size=users), seed=seed)
