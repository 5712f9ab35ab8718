"""A Sahha emulator: the same HTTP as the real API, over a deterministic synthetic population.

``SyntheticPopulation`` draws the users and their days; ``SahhaEmulator`` (an ASGI app) serves them;
``emulator_transport`` plugs it into an ``httpx.AsyncClient`` in-process; ``serve`` runs it on loopback.
The default credentials (``EMULATOR_CLIENT_ID``/``EMULATOR_CLIENT_SECRET``) are public and local-only.
"""

from sahha_sync.adapters.sahha.emulator.app import (
    EMULATOR_CLIENT_ID,
    EMULATOR_CLIENT_SECRET,
    LoggedRequest,
    SahhaEmulator,
    WebhookPush,
)
from sahha_sync.adapters.sahha.emulator.faults import Fault
from sahha_sync.adapters.sahha.emulator.personas import Persona
from sahha_sync.adapters.sahha.emulator.population import Population, StaticPopulation, SyntheticPopulation
from sahha_sync.adapters.sahha.emulator.server import (
    EMULATOR_BASE_URL,
    emulator_transport,
    running_emulator,
    serve,
)

__all__ = [
    "EMULATOR_BASE_URL",
    "EMULATOR_CLIENT_ID",
    "EMULATOR_CLIENT_SECRET",
    "Fault",
    "LoggedRequest",
    "Persona",
    "Population",
    "SahhaEmulator",
    "StaticPopulation",
    "SyntheticPopulation",
    "WebhookPush",
    "emulator_transport",
    "running_emulator",
    "serve",
]
