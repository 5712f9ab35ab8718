"""A Sahha emulator: the same HTTP as the real API, over a deterministic synthetic population.

``SyntheticPopulation`` draws the users and their days; ``SahhaEmulator`` (an ASGI app) serves them;
``emulator_transport`` plugs it into an ``httpx.AsyncClient`` in-process; ``serve`` runs it on loopback.
"""

from sahha_sync.adapters.sahha.emulator.personas import Persona
from sahha_sync.adapters.sahha.emulator.population import Population, StaticPopulation, SyntheticPopulation

__all__ = ["Persona", "Population", "StaticPopulation", "SyntheticPopulation"]
