"""Fewer Sahha calls within a stated freshness bound: three workloads, each run the seed's way and sahha-sync's.

    python benchmarks/freshness.py [--users N --days D --seed S --latency SECONDS --max-staleness SECONDS ...]

Workloads, over the same synthetic users and simulated days (the emulator's clock is the simulated one, so data
reaches Sahha late, as it does in the integrity simulation):

(i)   random times: ``--per-day`` analyses a day per user and analysis type, at random times;
(ii)  app opens: one to four opens a day per user at random times, each a behaviour then a circadian analysis,
      50 ms apart (on the simulated clock and in real time: the first one's archival runs meanwhile);
(iii) = (ii) with webhooks: every 30 simulated minutes Sahha pushes each user's records it received since
      (``--lost`` of the deliveries never come), and ``sahha-sync sync --all`` reconciles every
      ``--reconcile-days`` days at 03:00.

The seed's way: every analysis fetches the last 7 days with archetypes. sahha-sync's way: ``RunAnalysis`` as the
container builds it — the bound (``--max-staleness``), archetypes at most daily, webhook silence a day, one
``UserFlights`` — on a SQLite file with the in-memory queue (drained before each open, as real time between
opens allows), the reconcile as ``sync`` runs it (a zero bound, its own process's flights).

Printed per workload and way: Sahha calls (data requests), items fetched, the oldest data age any analysis used
— its true staleness, against the emulator's ground truth: how long before the analysis the newest record it
lacked had reached Sahha — against the bound, and the host's wait p50 / p99: the library's own time, measured,
plus ``--latency`` (simulated Sahha latency) for each run that fetched; the seed's way waits the latency alone.
Then the p50 of the answers from a fresh archive (no fetch) alone.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import incremental_sim as seed_benchmark  # its emulated Sahha, zero-latency analyst and queue settling
import structlog

from sahha_sync import migrations
from sahha_sync.adapters.memory import InMemoryJobQueue
from sahha_sync.adapters.sql import create_engine, sql_unit_of_work_factory
from sahha_sync.application.ports import JobContext
from sahha_sync.application.use_cases import (
    AnalysisOutcome,
    ArchiveHealthData,
    IngestWebhookRecords,
    RunAnalysis,
    UserFlights,
)
from sahha_sync.application.use_cases.ingest_webhook import WebhookDelivery
from sahha_sync.domain import FetchWindow, HealthRecords
from sahha_sync.infrastructure.settings import DEFAULT_ARCHETYPE_PERIOD, DEFAULT_MAX_STALENESS, DEFAULT_WEBHOOK_SILENCE

START = datetime(2026, 11, 2, tzinfo=UTC)
BEHAVIOUR, CIRCADIAN = "behavior_analysis", "circadian_analysis"
BACK_TO_BACK = timedelta(milliseconds=50)
PUSH_EVERY = timedelta(minutes=30)
PERIOD_DAYS = 7
PUSHED = JobContext("push", IngestWebhookRecords.JOB_TYPE, attempt=1, max_attempts=3)


@dataclass(frozen=True, slots=True, order=True)
class Step:
    at: datetime
    kind: str  # "analysis", "push" or "reconcile"
    user: str = ""
    analysis_type: str = ""
    settle: bool = True  # wait for the queue first (False: the second analysis of an open)


@dataclass
class Figures:
    calls: int = 0
    items: int = 0
    ages: list[timedelta] = field(default_factory=list)
    ages_but_lost: list[timedelta] = field(default_factory=list)  # not counting deliveries that never came
    waits: list[float] = field(default_factory=list)
    fresh_waits: list[float] = field(default_factory=list)  # answers from the archive, no fetch
    fresh_cpu: list[float] = field(default_factory=list)  # the process's CPU time (every thread) for those
    served: int = 0
    missed_deliveries: int = 0


# -- the workloads ---------------------------------------------------------------------------------------


def random_times(users: Iterable[str], args: argparse.Namespace) -> list[Step]:
    rng = random.Random(f"random:{args.seed}")
    return sorted(
        Step(START + timedelta(days=day, seconds=rng.randrange(86_400)), "analysis", user, atype)
        for user in users
        for atype in (BEHAVIOUR, CIRCADIAN)
        for day in range(args.days)
        for _ in range(args.per_day)
    )


def app_opens(users: Iterable[str], args: argparse.Namespace) -> list[Step]:
    rng = random.Random(f"opens:{args.seed}")
    steps = []
    for user in users:
        for day in range(args.days):
            for _ in range(rng.randint(1, 4)):
                at = START + timedelta(days=day, seconds=rng.randrange(86_400))
                steps.append(Step(at, "analysis", user, BEHAVIOUR))
                steps.append(Step(at + BACK_TO_BACK, "analysis", user, CIRCADIAN, settle=False))
    return sorted(steps)


def with_webhooks(steps: list[Step], args: argparse.Namespace) -> list[Step]:
    pushes = [Step(START + n * PUSH_EVERY, "push") for n in range(1, int(timedelta(days=args.days) / PUSH_EVERY))]
    reconciles = [
        Step(START + timedelta(days=day, hours=3), "reconcile")
        for day in range(args.reconcile_days, args.days, args.reconcile_days)
    ]
    return sorted([*steps, *pushes, *reconciles])


# -- Sahha, simulated ------------------------------------------------------------------------------------


class Sahha(seed_benchmark.Sahha):
    """The emulator on the simulated clock, a client of it, and what it pushed so far per user."""

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args.seed, args.users, cache=True)
        self.pushed: dict[str, set[object]] = {}
        self.lost: set[object] = set()
        self._rng = random.Random(f"pushes:{args.seed}")

    def new_since_last_push(self, user: str, lost_fraction: float) -> list[object]:
        """The user's records that reached Sahha since the last push; a ``lost_fraction`` of them never come."""
        now = self.clock.now()
        truth = self.emulator.ground_truth(user, FetchWindow(now - timedelta(days=3), now))
        sent = self.pushed.setdefault(user, set())
        fresh = [r for r in (*truth.biomarkers, *truth.scores, *truth.archetypes) if r.key not in sent]
        sent.update(r.key for r in fresh)
        lost = {r.key for r in fresh if self._rng.random() < lost_fraction}
        self.lost |= lost
        return [r for r in fresh if r.key not in lost]

    def staleness(self, user: str, used: HealthRecords, *, lost_too: bool = False) -> timedelta:
        """How long before now the newest record that ``used`` lacks (of the analysis period) reached Sahha;
        ``lost_too``: counting records whose delivery never came as held."""
        now = self.clock.now()
        period = FetchWindow.last_days(now, PERIOD_DAYS)
        have = {r.key for r in (*used.biomarkers, *used.scores, *used.archetypes)} | (self.lost if lost_too else set())

        def complete(as_of: datetime) -> bool:
            truth = self.emulator.ground_truth(user, period, as_of=as_of)
            held = [*truth.biomarkers, *truth.archetypes]
            keys = {r.key for r in held if period.contains(r.start_date_time)}
            keys |= {s.key for s in truth.scores if period.contains(s.score_date_time)}
            return keys <= have

        if complete(now):
            return timedelta(0)
        good, bad = now - timedelta(days=PERIOD_DAYS), now
        for _ in range(14):  # to within a minute
            middle = good + (bad - good) / 2
            good, bad = (middle, bad) if complete(middle) else (good, middle)
        return now - good


# -- the two ways ----------------------------------------------------------------------------------------


async def seed_way(steps: list[Step], args: argparse.Namespace) -> Figures:
    sahha, figures = Sahha(args), Figures()
    for step in steps:
        if step.kind != "analysis":
            continue
        sahha.clock.set(step.at)
        window = FetchWindow.last_days(step.at, PERIOD_DAYS)
        records = await sahha.source.fetch(step.user, window, include_archetypes=True)
        figures.items += records.total_items
        figures.ages.append(timedelta(0))
        figures.waits.append(args.latency)
    figures.calls = sahha.api_calls
    await sahha.http.aclose()
    return figures


async def sahha_sync_way(steps: list[Step], args: argparse.Namespace, database: Path) -> Figures:
    await asyncio.to_thread(migrations.upgrade, f"sqlite:///{database}")
    engine = create_engine(f"sqlite:///{database}")
    sahha, figures = Sahha(args), Figures()
    uow = sql_unit_of_work_factory(engine)
    queue = InMemoryJobQueue()
    queue.register(ArchiveHealthData.JOB_TYPE, ArchiveHealthData(unit_of_work=uow, clock=sahha.clock))
    await queue.start()
    common = {"source": sahha.source, "analyst": seed_benchmark.InstantAnalyst(), "unit_of_work": uow, "queue": queue}
    run = RunAnalysis(
        **common,
        clock=sahha.clock,
        max_staleness=timedelta(seconds=args.max_staleness),
        archetype_period=timedelta(seconds=DEFAULT_ARCHETYPE_PERIOD),
        webhook_silence=timedelta(seconds=DEFAULT_WEBHOOK_SILENCE),
        flights=UserFlights(),
    )
    reconcile = RunAnalysis(**common, clock=sahha.clock, archetype_period=timedelta(seconds=DEFAULT_ARCHETYPE_PERIOD))
    ingest = IngestWebhookRecords(unit_of_work=uow, clock=sahha.clock)
    for step in steps:
        sahha.clock.set(step.at)
        if step.settle:
            await seed_benchmark._settle(queue, at_most=0)
        else:  # the second analysis of an open comes 50 ms after the first, in real time too (archival goes on)
            await asyncio.sleep(BACK_TO_BACK.total_seconds())
        if step.kind == "push":
            for user in sahha.profile_ids:
                for record in sahha.new_since_last_push(user, args.lost):
                    await ingest.ingest(WebhookDelivery(record=record, received_at=step.at).to_payload(), PUSHED)  # type: ignore[arg-type]
        elif step.kind == "reconcile":
            for user in sahha.profile_ids:
                figures.items += (await reconcile.run_analysis(user, "backfill", BEHAVIOUR)).snapshot.total_items
        else:
            began, cpu = time.perf_counter(), time.process_time()
            outcome = await run.run_analysis(step.user, "benchmark", step.analysis_type)
            took, cpu = time.perf_counter() - began, time.process_time() - cpu
            _count(figures, sahha, step.user, outcome, took, args.latency)
            if outcome.data_source == "archive":
                figures.fresh_cpu.append(cpu)
    await queue.stop(drain=True)
    figures.calls = sahha.api_calls
    figures.missed_deliveries = len(sahha.lost)
    await engine.dispose()
    await sahha.http.aclose()
    return figures


def _count(figures: Figures, sahha: Sahha, user: str, outcome: AnalysisOutcome, took: float, latency: float) -> None:
    if outcome.data_source == "archive":
        figures.served += 1
        figures.fresh_waits.append(took)
        figures.waits.append(took)
        figures.ages.append(sahha.staleness(user, outcome.snapshot.records))
        figures.ages_but_lost.append(sahha.staleness(user, outcome.snapshot.records, lost_too=True))
    else:  # a fetch at now: nothing that had reached Sahha is missing
        figures.items += outcome.snapshot.total_items
        figures.waits.append(took + latency)
        figures.ages.append(timedelta(0))


# -- the report ------------------------------------------------------------------------------------------


def _ms(waits: list[float], q: int) -> str:
    if not waits:
        return "-"
    if len(waits) == 1:
        return f"{waits[0] * 1000:.1f}"
    return f"{statistics.quantiles(waits, n=100, method='inclusive')[q - 1] * 1000:,.1f}"


def _age(ages: list[timedelta]) -> str:
    oldest = max(ages, default=timedelta(0))
    return f"{oldest.total_seconds() / 60:.0f} min"


def report(args: argparse.Namespace, results: dict[str, tuple[Figures, Figures]]) -> None:
    bound = timedelta(seconds=args.max_staleness)
    print(
        f"users={args.users} days={args.days} seed={args.seed} (i) per-day={args.per_day}; bound "
        f"SAHHA_SYNC_MAX_STALENESS={args.max_staleness:.0f} s, archetypes at most daily, webhook silence a day; "
        f"simulated Sahha latency {args.latency:.1f} s per fetch (its requests in parallel)"
    )
    head = f"{'workload':28}{'way':12}{'runs':>6}{'Sahha calls':>13}{'fewer':>9}{'items':>9}"
    print(head + f"{'oldest data':>13}{'bound held':>12}{'wait p50 ms':>13}{'p99 ms':>10}{'served':>8}")
    for name, (seed, ours) in results.items():
        for way, f in (("seed", seed), ("sahha-sync", ours)):
            fewer = "" if f is seed else seed_benchmark._less(f.calls, seed.calls)
            held = "yes" if max(f.ages, default=timedelta(0)) <= bound else "no"
            line = f"{name if f is seed else '':28}{way:12}{len(f.waits):>6}{f.calls:>13,}{fewer:>9}{f.items:>9,}"
            served = "" if f is seed else str(f.served)
            print(line + f"{_age(f.ages):>13}{held:>12}{_ms(f.waits, 50):>13}{_ms(f.waits, 99):>10}{served:>8}")
    for name, (_, ours) in results.items():
        print(
            f"{name}: answers from a fresh archive (no fetch) on SQLite: host wait p50 {_ms(ours.fresh_waits, 50)} ms, "
            f"p99 {_ms(ours.fresh_waits, 99)} ms; the process's CPU time p50 {_ms(ours.fresh_cpu, 50)} ms"
        )
    print(f"load average while measured: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (on {os.cpu_count()} CPUs)")
    webhooks = list(results.values())[-1][1]
    print(
        f"(iii): {webhooks.missed_deliveries} records' deliveries never came (--lost {args.lost:.0%}); an answer "
        f"lacks such a record until the reconcile every {args.reconcile_days} days (or a poll) brings it; the "
        f"other records' oldest age: {_age(webhooks.ages_but_lost)}"
    )


async def main(args: argparse.Namespace) -> None:
    users = Sahha(args).profile_ids
    opens = app_opens(users, args)
    workloads = {
        "(i) random times": random_times(users, args),
        "(ii) app opens": opens,
        "(iii) app opens + webhooks": with_webhooks(opens, args),
    }
    folder = Path(tempfile.mkdtemp(prefix="sahha-sync-fresh-", dir=args.db_dir))
    results = {}
    try:
        for n, (name, steps) in enumerate(workloads.items()):
            results[name] = (await seed_way(steps, args), await sahha_sync_way(steps, args, folder / f"{n}.db"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report(args, results)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--per-day", type=int, default=3, help="(i): analyses a day per user and analysis type")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--latency", type=float, default=3.0, help="simulated seconds Sahha takes to answer a fetch")
    parser.add_argument("--max-staleness", type=float, default=DEFAULT_MAX_STALENESS, help="the bound, seconds")
    parser.add_argument("--lost", type=float, default=0.01, help="(iii): the fraction of deliveries that never come")
    parser.add_argument("--reconcile-days", type=int, default=7, help="(iii): days between reconciles")
    parser.add_argument("--db-dir", default=None, help="where the SQLite files go (default: the temp folder)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(main(parse()))
