"""A job retried after a later run's job archived a revised value must not put the older value back.

With retries seconds apart (as in production: 2 s, 4 s, 8 s), later runs' jobs archive revised values before
an earlier run's retry carries the old ones. The simulation found the old value left in the archive for good
once the record's day lay behind every later window; archival now leaves rows alone whose stored version Sahha
created later.
"""

from __future__ import annotations

from sahha_sync.adapters.memory import InMemoryJobQueue, InMemoryStores
from sahha_sync.application.ports import UnitOfWorkFactory
from sahha_sync.testing.simulation import IntegritySimulation, SimulationConfig

RETRIES_OUT_OF_ORDER = SimulationConfig(
    seed=2,
    users=3,
    days=6,
    analyses_per_day=(2, 3),
    revision_fraction=0.5,
    transient_archive_fraction=0.6,
    doomed_archive_fraction=0.0,
    drain_fraction=0.0,
    outages=0,
    restart=False,
    webhook_deliveries=0,
)


async def simulate_slow_retries(unit_of_work: UnitOfWorkFactory) -> None:
    simulation = IntegritySimulation(
        RETRIES_OUT_OF_ORDER, unit_of_work=unit_of_work, make_queue=lambda: InMemoryJobQueue(backoff_base=0.3)
    )
    report = await simulation.run()
    report.assert_consistent()
    assert report.figures["injected_archive_failures"] > 0


async def test_a_slow_retry_leaves_the_revised_value_in_the_in_memory_archive() -> None:
    await simulate_slow_retries(InMemoryStores().unit_of_work)
