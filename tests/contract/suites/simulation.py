"""An end-to-end integrity simulation: the real pipeline through a simulated fortnight, then its promises checked.

``IntegritySimulation`` drives ``RunAnalysis`` with the real Sahha client on the in-process emulator, the unit of
work and the job queue a host gives it (SQL adapters and ``InMemoryJobQueue`` in this project's tests), and a
``ManualClock`` that the emulator shares, so late data becomes available as simulated time passes. On the way:
several analyses a day per user and analysis type at seeded random times; data arriving up to two days late and
values revised after they were first served; injected Sahha 429s, 5xx, timeouts and outages; archive failures on a
schedule (some runs fail once and are retried, some fail every attempt and die); a process restart with jobs
pending (the queue is dropped, a new one built and ``RecoverPendingArchivals`` run); duplicate webhook
deliveries through the signed receiver into the ingest job, out of order (a record's newest version, then an older
one); old archival jobs submitted again after newer ones ran. The data has Sahha's real shapes (the emulator's):
running totals revised under the daily record's key, weekly records, types no list names, API biomarkers without
``createdAtUtc``, and a user who moves to another offset (a local date lived twice). At the end, once the queue
drained and one more analysis per user ran, ``SimulationReport.problems`` lists every broken promise:

- the archive equals the emulator's ground truth over the fetched span: every record once, with its latest value;
- every run's tracking row agrees with what happened to it (its fate, recorded as the simulation saw it);
- ``RebuildProjections`` rebuilds the same tracking table and the same freshness rows;
- no watermark ever moved backwards (checked after every run);
- with a freshness bound (``SimulationConfig.max_staleness``), an answer from the archive holds every record
  archived before the run (checked after every such run), and the data it used is no older than the bound.

Everything random is drawn from ``SimulationConfig.seed``; ``report.assert_consistent()`` names the seed, so a
failure can be replayed with ``SimulationConfig(seed=...)``. A host runs it against its own adapters::

    report = await IntegritySimulation(SimulationConfig(seed=7), unit_of_work=factory, make_queue=make).run()
    report.assert_consistent()
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import random
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

import httpx

from sahha_sync.adapters.clock import ManualClock
from sahha_sync.adapters.llm import OfflineAnalyst
from sahha_sync.adapters.sahha import SahhaHealthDataSource
from sahha_sync.adapters.sahha.dto import parse_records
from sahha_sync.adapters.sahha.emulator import (
    EMULATOR_BASE_URL,
    EMULATOR_CLIENT_ID,
    EMULATOR_CLIENT_SECRET,
    SahhaEmulator,
    SyntheticPopulation,
    WebhookPush,
    emulator_transport,
)
from sahha_sync.adapters.webhook import SahhaWebhookReceiver, sign
from sahha_sync.application.ports import (
    ARCHIVED_KINDS,
    Analyst,
    ArchiveUnavailableError,
    HealthArchive,
    JobContext,
    JobHandler,
    JobQueue,
    UnitOfWork,
    UnitOfWorkFactory,
)
from sahha_sync.application.use_cases import (
    AnalysisOutcome,
    ArchiveHealthData,
    IngestWebhookRecords,
    RebuildProjections,
    ReceiveWebhookDelivery,
    RecoverPendingArchivals,
    RunAnalysis,
    UserFlights,
)
from sahha_sync.domain import (
    RECORD_KINDS,
    Biomarker,
    FetchWindow,
    HealthRecords,
    QuarantinedRecord,
    RecordKind,
    Score,
    TrackingRecord,
    UpsertCounts,
)

QueueFactory = Callable[[], JobQueue | Awaitable[JobQueue]]
PARTS = tuple(kind.plural for kind in RECORD_KINDS)
ANALYSIS_TYPES = ("behavior_analysis", "circadian_analysis")  # AnalysisType values
ARCHETYPES = ("night_owl", "early_bird", "shift_worker")
WEBHOOK_SECRET = "whsec_simulation-only-secret"
SIM_START = datetime(2026, 11, 2, tzinfo=UTC)
RunKey = tuple[str, str, str, datetime]  # user, archetype, analysis type, window end (= the run's time)


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulationConfig:
    """What one simulated stretch looks like; every draw comes from ``seed``."""

    seed: int = 0
    users: int = 6
    days: int = 14
    analyses_per_day: tuple[int, int] = (1, 3)  # per user and analysis type, inclusive bounds
    lookback: timedelta = timedelta(hours=48)
    initial_days: int = 7
    max_delay: timedelta = timedelta(days=2)  # data arrives up to this long after its span ended
    late_fraction: float = 0.2
    revision_fraction: float = 0.05  # biomarker values Sahha revises after first serving them
    sahha_error_rate: float = 0.04  # 5xx per data request
    sahha_timeout_rate: float = 0.01
    rate_limited_fraction: float = 0.1  # analyses whose first request is answered 429 with Retry-After
    outages: int = 2  # Sahha down for a few hours: runs fall back to the archive
    transient_archive_fraction: float = 0.1  # archival fails on its first attempt, then succeeds
    doomed_archive_fraction: float = 0.05  # archival fails every attempt: the job dies
    max_attempts: int = 3
    webhook_deliveries: int = 12  # records pushed, each delivered two or three times
    restart: bool = True
    request_timeout: float = 0.05  # real seconds the client waits for an answer that never comes
    drain_fraction: float = 0.3  # runs after which the simulation waits for the queue; the others overlap it
    max_staleness: timedelta = timedelta(0)  # zero: every run fetches; else the archive answers within the bound
    stale_jobs: int = 4  # an old archival job submitted again after newer ones ran
    traveller_moves: timedelta | None = timedelta(hours=-9)  # the last user moves this far west on day 5 (None: no one)


@dataclass(frozen=True, slots=True)
class RunFate:
    """What happened to one run, as the simulation saw it (never read from the tracking table)."""

    run_id: str
    key: RunKey
    window: FetchWindow
    data_source: str
    archive_fails_at: str | None  # the part whose upsert always fails, or None
    job_dropped: bool = False
    served: bool = False  # answered from the archive within the freshness bound: nothing fetched


@dataclass(slots=True)
class SimulationReport:
    config: SimulationConfig
    fates: list[RunFate] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def assert_consistent(self) -> None:
        if self.problems:
            shown = "\n  ".join(self.problems[:25])
            more = f"\n  ... and {len(self.problems) - 25} more" if len(self.problems) > 25 else ""
            raise AssertionError(
                f"integrity simulation seed={self.config.seed} ({len(self.problems)} problems; replay with "
                f"SimulationConfig(seed={self.config.seed}, ...)):\n  {shown}{more}\nfigures: {self.figures}"
            )


# -- data Sahha revises after it first served it ---------------------------------------------------------


class RevisingPopulation:
    """A ``SyntheticPopulation`` whose numeric biomarkers are sometimes revised (a later sync recounts the day):
    the revised value becomes available before ``latest`` after the record's span ended."""

    def __init__(self, base: SyntheticPopulation, *, fraction: float, latest: timedelta) -> None:
        self.base = base
        self.fraction = fraction
        self.latest = latest

    @property
    def profile_ids(self) -> tuple[str, ...]:
        return self.base.profile_ids

    def records_for(
        self, profile_id: str, window: FetchWindow, *, as_of: datetime | None = None, include_archetypes: bool = True
    ) -> HealthRecords:
        records = self.base.records_for(profile_id, window, as_of=as_of, include_archetypes=include_archetypes)
        return dataclasses.replace(records, biomarkers=tuple(self._revised(b, as_of) for b in records.biomarkers))

    def _revised(self, record: Biomarker, as_of: datetime | None) -> Biomarker:
        rng = random.Random(f"revision:{self.base.seed}:{record.user_id}:{record.type}:{record.start_date_time}")
        number = record.value_numeric
        if number is None or rng.random() >= self.fraction:
            return record
        at = record.end_date_time + timedelta(seconds=round(rng.uniform(3600, self.latest.total_seconds())))
        if as_of is not None and at > as_of:
            return record
        revised = number * rng.uniform(1.02, 1.3)
        value = str(round(revised)) if record.value_type.lower() in ("integer", "long") else f"{revised:.1f}"
        return dataclasses.replace(record, value=value)  # API biomarkers say nothing of when they were made

    def versions(self, profile_id: str, window: FetchWindow, *, include_archetypes: bool = True) -> list[Any]:
        """The versions Sahha's webhooks push (before any later revision)."""
        return self.base.versions(profile_id, window, include_archetypes=include_archetypes)


# -- archive failures on a schedule ----------------------------------------------------------------------

_current_job: contextvars.ContextVar[tuple[RunKey, int] | None] = contextvars.ContextVar("sim_job", default=None)


class ArchiveFaults:
    """Which runs' archival upserts fail: ``always[key]`` names a part that fails on every attempt,
    ``first_attempt[key]`` one that fails on the first attempt only. ``gate`` holds jobs before they start."""

    def __init__(self) -> None:
        self.always: dict[RunKey, str] = {}
        self.first_attempt: dict[RunKey, str] = {}
        self.gate = asyncio.Event()
        self.gate.set()
        self.injected = 0
        self.ran: dict[str, list[dict[str, Any]]] = {}  # payloads of archival jobs that ran, by user

    def check(self, part: str) -> None:
        current = _current_job.get()
        if current is None:
            return
        key, attempt = current
        if self.always.get(key) == part or (attempt == 1 and self.first_attempt.get(key) == part):
            self.injected += 1
            raise ArchiveUnavailableError(f"simulated failure of the {part} upsert")

    def wrap(self, handler: JobHandler) -> JobHandler:
        """The archival handler, holding at the gate and naming its run for ``check``."""

        async def run(payload: Mapping[str, Any], context: JobContext) -> None:
            await self.gate.wait()
            key = _key_of(payload)
            if key is not None and key not in self.always and key not in self.first_attempt:
                self.ran.setdefault(key[0], []).append(dict(payload))
            token = _current_job.set(None if key is None else (key, context.attempt))
            try:
                await handler(payload, context)
            finally:
                _current_job.reset(token)

        return run


def _key_of(payload: Mapping[str, Any]) -> RunKey | None:
    try:
        end = datetime.fromisoformat(payload["window"]["end"])
        return (payload["user_id"], payload["archetype"], payload["analysis_type"], end)
    except (KeyError, TypeError, ValueError):
        return None


class _FailingArchive(HealthArchive):
    def __init__(self, inner: HealthArchive, faults: ArchiveFaults) -> None:
        self._inner = inner
        self._faults = faults

    async def upsert(self, kind: RecordKind[Any], rows: Sequence[Any]) -> UpsertCounts:
        self._faults.check(kind.plural)
        return await self._inner.upsert(kind, rows)

    async def read_window(
        self, user_id: str, window: FetchWindow, *, kinds: Collection[str] = ARCHIVED_KINDS
    ) -> HealthRecords:
        return await self._inner.read_window(user_id, window, kinds=kinds)

    async def quarantine(self, records: Sequence[QuarantinedRecord]) -> int:
        return await self._inner.quarantine(records)

    async def delete_user(self, user_id: str) -> dict[str, int]:
        return await self._inner.delete_user(user_id)


class _FaultyUnitOfWork(UnitOfWork):
    """A unit of work whose archive fails as ``ArchiveFaults`` says; everything else is the host's."""

    def __init__(self, inner: UnitOfWork, faults: ArchiveFaults) -> None:
        self._inner = inner
        self._faults = faults

    async def __aenter__(self) -> Self:
        await self._inner.__aenter__()
        self.archive = _FailingArchive(self._inner.archive, self._faults)
        self.events = self._inner.events
        self.tracking = self._inner.tracking
        self.analysis_results = self._inner.analysis_results
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._inner.__aexit__(exc_type, exc, tb)

    async def commit(self) -> None:
        await self._inner.commit()

    async def rollback(self) -> None:
        await self._inner.rollback()


# -- the schedule ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class _Step:
    at: datetime
    kind: str  # analysis, webhook, outage_on, outage_off, stall, restart
    user: str = ""
    archetype: str = ""
    analysis_type: str = ""
    rate_limited: bool = False
    drain_after: bool = False


def _schedule(config: SimulationConfig, users: Sequence[str], faults: ArchiveFaults) -> list[_Step]:
    """Every step of the simulated stretch, in time order, and the archive failures of the runs."""
    rng = random.Random(f"schedule:{config.seed}")
    days = timedelta(days=config.days)
    steps: list[_Step] = []
    for user in users:
        archetypes = rng.sample(ARCHETYPES, 2)  # most runs use the first; the second exercises the fallback
        for atype in ANALYSIS_TYPES:
            for day in range(config.days):
                for _ in range(rng.randint(*config.analyses_per_day)):
                    at = SIM_START + timedelta(days=day, seconds=rng.randrange(86_400))
                    archetype = archetypes[0] if rng.random() < 0.8 else archetypes[1]
                    limited = rng.random() < config.rate_limited_fraction
                    steps.append(
                        _Step(at, "analysis", user, archetype, atype, limited, rng.random() < config.drain_fraction)
                    )
                    _draw_archive_fault(rng, config, faults, (user, archetype, atype, at))
    for _ in range(config.outages):
        start = SIM_START + timedelta(seconds=rng.uniform(0.5 * 86_400, days.total_seconds() - 86_400))
        steps.append(_Step(start, "outage_on"))
        steps.append(_Step(start + timedelta(hours=rng.uniform(2, 5)), "outage_off"))
    for _ in range(config.webhook_deliveries):
        at = SIM_START + timedelta(seconds=rng.uniform(0, days.total_seconds()))
        steps.append(_Step(at, "webhook", rng.choice(users)))
    for _ in range(config.stale_jobs):
        at = SIM_START + timedelta(seconds=rng.uniform(3 * 86_400, days.total_seconds()))
        steps.append(_Step(at, "stale_job", rng.choice(users)))
    if config.restart and config.days >= 3:
        restart = SIM_START + timedelta(seconds=rng.uniform(2 * 86_400, days.total_seconds() - 86_400))
        steps.append(_Step(restart - timedelta(hours=rng.uniform(2, 8)), "stall"))
        steps.append(_Step(restart, "restart"))
    return sorted(steps)


def _draw_archive_fault(rng: random.Random, config: SimulationConfig, faults: ArchiveFaults, key: RunKey) -> None:
    roll, part = rng.random(), rng.choice(PARTS)
    if roll < config.doomed_archive_fraction:
        faults.always[key] = part
    elif roll < config.doomed_archive_fraction + config.transient_archive_fraction:
        faults.first_attempt[key] = part


# -- the simulation --------------------------------------------------------------------------------------


class IntegritySimulation:
    """``await IntegritySimulation(config, unit_of_work=..., make_queue=...).run() -> SimulationReport``.

    ``unit_of_work`` is the host's factory over empty stores; ``make_queue()`` returns a new, unstarted queue
    (called at the start and after the restart). ``analyst`` defaults to ``OfflineAnalyst``.
    """

    def __init__(
        self,
        config: SimulationConfig,
        *,
        unit_of_work: UnitOfWorkFactory,
        make_queue: QueueFactory,
        analyst: Analyst | None = None,
        drain_timeout: float = 120.0,
    ) -> None:
        self.config = config
        self.clock = ManualClock(SIM_START)
        travellers = {}
        if config.traveller_moves is not None:
            home = SyntheticPopulation(config.seed).persona(f"user-{config.users - 1:04d}").utc_offset
            moved = max(timedelta(hours=-12), home + config.traveller_moves)
            travellers[f"user-{config.users - 1:04d}"] = ((SIM_START + timedelta(days=5)).date(), moved)
        population = SyntheticPopulation(
            config.seed,
            size=config.users,
            max_delay=config.max_delay,
            late_fraction=config.late_fraction,
            travellers=travellers,
        )
        latest = config.max_delay - timedelta(hours=1)
        self.population = RevisingPopulation(population, fraction=config.revision_fraction, latest=latest)
        self.emulator = SahhaEmulator(
            self.population,
            error_rate=config.sahha_error_rate,
            timeout_rate=config.sahha_timeout_rate,
            seed=config.seed,
            clock=self.clock.now,
        )
        self.faults = ArchiveFaults()
        self.report = SimulationReport(config)
        self._stores = unit_of_work
        self._make_queue = make_queue
        self._analyst = analyst or OfflineAnalyst()
        self._drain_timeout = drain_timeout
        self._rng = random.Random(f"simulation:{config.seed}")
        self._slept = 0.0
        self._watermarks: dict[tuple[str, str, str], datetime] = {}
        self._first_run: dict[str, datetime] = {}
        self._queue: JobQueue | None = None
        self._flights = UserFlights()  # the process's own: a restart starts with none
        self._counts: dict[str, int] = {
            "webhook_posts": 0,
            "webhook_records": 0,
            "webhook_out_of_order": 0,
            "recovered": 0,
            "stalled_submits": 0,
            "stale_jobs": 0,
        }
        self._stalled = False

    def unit_of_work(self) -> UnitOfWork:
        return _FaultyUnitOfWork(self._stores(), self.faults)

    async def _fake_sleep(self, seconds: float) -> None:
        self._slept += max(0.0, seconds)
        await asyncio.sleep(0)

    def _monotonic(self) -> float:
        return self.clock.now().timestamp() + self._slept

    async def run(self) -> SimulationReport:
        steps = _schedule(self.config, self.population.profile_ids, self.faults)
        transport = emulator_transport(self.emulator)
        async with httpx.AsyncClient(transport=transport, base_url=EMULATOR_BASE_URL) as http:
            self.source = SahhaHealthDataSource(
                http,
                client_id=EMULATOR_CLIENT_ID,
                client_secret=EMULATOR_CLIENT_SECRET,
                base_url=EMULATOR_BASE_URL,
                rate_limit_delay=0.0,
                request_timeout=self.config.request_timeout,
                sleep=self._fake_sleep,
                monotonic=self._monotonic,
                wall_clock=self._monotonic,
                now=self.clock.now,
                rng=random.Random(f"client:{self.config.seed}"),
            )
            await self._open_queue()
            try:
                for step in steps:
                    self.clock.set(step.at)
                    await getattr(self, f"_on_{step.kind}")(step)
                await self._finish()
            finally:
                self.faults.gate.set()
                if self._queue is not None:
                    await self._queue.stop(drain=False, timeout=10)
        await self._check()
        self._figures()
        return self.report

    async def _open_queue(self) -> None:
        made = self._make_queue()
        queue = await made if isinstance(made, Awaitable) else made
        uow = self.unit_of_work
        archival = ArchiveHealthData(unit_of_work=uow, clock=self.clock, source=self.source)
        queue.register(ArchiveHealthData.JOB_TYPE, self.faults.wrap(archival))
        queue.register(
            IngestWebhookRecords.JOB_TYPE, self.faults.wrap(IngestWebhookRecords(unit_of_work=uow, clock=self.clock))
        )
        await queue.start()
        self._queue = queue
        self._run_analysis = RunAnalysis(
            source=self.source,
            analyst=self._analyst,
            unit_of_work=uow,
            queue=queue,
            clock=self.clock,
            lookback=self.config.lookback,
            initial_days=self.config.initial_days,
            max_staleness=self.config.max_staleness,
            flights=self._flights,
        )
        intake = ReceiveWebhookDelivery(queue=queue, unit_of_work=uow, clock=self.clock)
        self._receiver = SahhaWebhookReceiver(
            secret=WEBHOOK_SECRET, intake=intake, clock=self.clock, parse=parse_records
        )

    @property
    def queue(self) -> JobQueue:
        assert self._queue is not None, "the simulation's queue is not open"
        return self._queue

    async def _drain(self, what: str) -> None:
        if not await self.queue.wait_idle(self._drain_timeout):
            self.report.problems.append(f"the queue did not drain within {self._drain_timeout} s ({what})")

    # -- steps -----------------------------------------------------------------------------------------------

    async def _on_analysis(self, step: _Step) -> None:
        if step.rate_limited:
            self.emulator.faults.add(429)
        await self._analyse(step.user, step.archetype, step.analysis_type)
        if step.drain_after and not self._stalled:
            await self._drain(f"after a run at {step.at.isoformat()}")
        else:
            await asyncio.sleep(0)  # let the workers take a turn between runs

    async def _analyse(self, user: str, archetype: str, atype: str) -> None:
        key: RunKey = (user, archetype, atype, self.clock.now())
        before = await self._archived(user)
        outcome = await self._run_analysis.run_analysis(user, archetype, atype)
        self._first_run.setdefault(user, self.clock.now())
        sahha = outcome.data_source == "sahha"
        served = outcome.data_source == "archive" and not outcome.source_failed
        fails_at = self.faults.always.get(key) if sahha else None
        self.report.fates.append(
            RunFate(
                outcome.run_id,
                key,
                outcome.window,
                outcome.data_source,
                fails_at,
                job_dropped=self._stalled,
                served=served,
            )
        )
        if sahha and self._stalled:
            self._counts["stalled_submits"] += 1
        if served:  # no fetch: the per-type watermark stays; the answer must hold what the archive held
            self._check_served(user, outcome, before)
            return
        await self._check_watermark(user, archetype, atype, outcome.window.end)

    async def _archived(self, user: str) -> HealthRecords:
        """The user's archived records of the analysis period, as the next run will see them at the earliest."""
        if self.config.max_staleness <= timedelta(0):
            return HealthRecords()
        async with self._stores() as uow:
            return await uow.archive.read_window(
                user, FetchWindow.last_days(self.clock.now(), self.config.initial_days)
            )

    def _check_served(self, user: str, outcome: AnalysisOutcome, before: HealthRecords) -> None:
        """An answer from the archive holds every record archived before the run (the archive only grows here),
        and its data is no older than the bound."""
        self._counts["served"] = self._counts.get("served", 0) + 1
        if outcome.data_age is None or outcome.data_age > self.config.max_staleness:
            self.report.problems.append(f"{user}: an answer from the archive used data {outcome.data_age} old")
        used = outcome.snapshot.records
        for kind in RECORD_KINDS:
            missing = {r.key for r in kind.records_in(before)} - {r.key for r in kind.records_in(used)}
            for key in sorted(missing, key=str)[:3]:
                self.report.problems.append(
                    f"{user}: {kind.name} {_show(key)} was archived but the archive's answer left it out"
                )

    async def _check_watermark(self, user: str, archetype: str, atype: str, reached: datetime) -> None:
        async with self._stores() as uow:
            row = await uow.tracking.latest(user, atype, archetype)
        previous = self._watermarks.get((user, archetype, atype))
        expected = reached if previous is None else max(previous, reached)
        current = None if row is None else row.analysis_timestamp
        if current is None:
            self.report.problems.append(f"{user}/{archetype}/{atype}: no watermark after a run at {reached}")
            return
        if previous is not None and current < previous:
            self.report.problems.append(f"{user}/{archetype}/{atype}: watermark moved back {previous} -> {current}")
        elif current != expected:
            self.report.problems.append(f"{user}/{archetype}/{atype}: watermark {current}, expected {expected}")
        self._watermarks[(user, archetype, atype)] = max(current, previous or current)

    async def _on_webhook(self, step: _Step) -> None:
        """Sahha pushes versions of one record of the last two days out of order: the newest first, then an older
        one (a running total before its daily value), each two or three times."""
        now = self.clock.now()
        pushes = self.emulator.webhook_stream(step.user, now - timedelta(days=2), now)
        if not pushes:
            return
        by_key: dict[Any, list[WebhookPush]] = {}
        for push in pushes:
            by_key.setdefault((type(push.record), push.record.key), []).append(push)
        revised = [versions for versions in by_key.values() if len(versions) > 1]
        versions = self._rng.choice(revised or list(by_key.values()))
        chosen = [versions[-1], *([self._rng.choice(versions[:-1])] if len(versions) > 1 else [])]
        self._counts["webhook_records"] += 1
        self._counts["webhook_out_of_order"] += len(chosen) - 1
        transport = httpx.ASGITransport(app=self._receiver)
        async with httpx.AsyncClient(transport=transport, base_url="http://host.local") as client:
            for push in chosen:
                headers = {"X-Event-Type": push.event_type, "X-Signature": sign(WEBHOOK_SECRET, push.body)}
                for _ in range(self._rng.randint(2, 3)):  # Sahha delivers again when unsure we got it
                    response = await client.post("/sahha/webhooks", content=push.body, headers=headers)
                    self._counts["webhook_posts"] += 1
                    if response.status_code != 202:
                        self.report.problems.append(f"webhook delivery answered {response.status_code}, not 202")

    async def _on_stale_job(self, step: _Step) -> None:
        """An old archival job of the user comes again (a retry the queue thought lost) after newer ones ran."""
        ran = self.faults.ran.get(step.user, [])
        if len(ran) < 2:
            return
        self._counts["stale_jobs"] += 1
        await self.queue.submit_job(ArchiveHealthData.JOB_TYPE, self._rng.choice(ran[:-1]))

    async def _on_outage_on(self, step: _Step) -> None:
        self.emulator.faults.error_rate = 1.0

    async def _on_outage_off(self, step: _Step) -> None:
        self.emulator.faults.error_rate = self.config.sahha_error_rate

    async def _on_stall(self, step: _Step) -> None:
        self.faults.gate.clear()  # workers hang before their jobs: jobs pile up until the restart
        self._stalled = True

    async def _on_restart(self, step: _Step) -> None:
        """The process dies with jobs pending; a new one builds its queue and recovers from the event store."""
        await self.queue.stop(drain=False, timeout=10)
        self._queue = None
        self._flights = UserFlights()  # what the old process had fetched went with it
        self.faults.gate.set()
        self._stalled = False
        faults = self.emulator.faults
        saved = (faults.error_rate, faults.timeout_rate)
        faults.error_rate = faults.timeout_rate = 0.0  # Sahha is up while the new process starts
        try:
            await self._open_queue()
            recovered = await RecoverPendingArchivals(unit_of_work=self._stores, queue=self.queue).recover()
            self._counts["recovered"] += recovered
            await self._drain("after recovery")
        finally:
            faults.error_rate, faults.timeout_rate = saved

    async def _finish(self) -> None:
        """After the storm: Sahha healthy, the queue drained, one more analysis per user, drained again."""
        self.clock.set(SIM_START + timedelta(days=self.config.days))
        self.faults.gate.set()
        self._stalled = False
        self.emulator.faults.error_rate = self.emulator.faults.timeout_rate = 0.0
        await self._drain("before the final runs")
        for user in self.population.profile_ids:
            fate = next((f for f in self.report.fates if f.key[0] == user), None)
            archetype = fate.key[1] if fate else ARCHETYPES[0]
            await self._analyse(user, archetype, ANALYSIS_TYPES[0])
        await self._drain("after the final runs")

    # -- the promises ----------------------------------------------------------------------------------------

    async def _check(self) -> None:
        end = SIM_START + timedelta(days=self.config.days)
        await self._check_freshness_replay()
        for user in self.population.profile_ids:
            first = self._first_run.get(user)
            if first is not None:
                await self._check_archive(user, FetchWindow(first - timedelta(days=self.config.initial_days), end))
        async with self._stores() as uow:
            rows = await uow.tracking.list_all()
        self._check_fates({row.run_id: row for row in rows})
        rebuilt = await RebuildProjections(unit_of_work=self._stores).rebuild()
        async with self._stores() as uow:
            after = await uow.tracking.list_all()
        if rebuilt != len(rows) or after != rows:
            changed = [a.run_id for a, b in zip(rows, after, strict=False) if a != b][:3]
            self.report.problems.append(
                f"replay rebuilt {rebuilt} runs into {len(after)} rows, unlike the {len(rows)} live rows "
                f"(first differing runs: {changed})"
            )

    async def _check_freshness_replay(self) -> None:
        """``RebuildProjections`` gives every user's freshness row back as the live writers left it."""
        async with self._stores() as uow:
            live = await uow.tracking.list_freshness()
        await RebuildProjections(unit_of_work=self._stores).rebuild()
        async with self._stores() as uow:
            rebuilt = await uow.tracking.list_freshness()
        if rebuilt != live:
            differing = [f.user_id for f in live if f not in rebuilt][:3]
            self.report.problems.append(f"replay rebuilt other freshness rows (first differing users: {differing})")

    async def _check_archive(self, user: str, span: FetchWindow) -> None:
        """The archive holds exactly what Sahha holds for the span: each record once, with its latest value."""
        truth = self.emulator.ground_truth(user, span, as_of=span.end)
        wide = FetchWindow(span.start - timedelta(days=40), span.end + timedelta(days=1))
        async with self._stores() as uow:
            stored = await uow.archive.read_window(user, wide)
        figures = self.report.figures
        figures["truth_records"] = figures.get("truth_records", 0) + truth.total_items
        keys = [r.key for r, _ in self.population.versions(user, span, include_archetypes=False)]
        figures["revised_keys"] = figures.get("revised_keys", 0) + len(keys) - len(set(keys))
        weekly = sum(1 for b in truth.biomarkers if b.periodicity == "weekly")
        figures["weekly_records"] = figures.get("weekly_records", 0) + weekly
        for kind in ("biomarkers", "scores", "archetypes"):
            expected = {r.key: _as_served(r) for r in getattr(truth, kind)}
            got_list = getattr(stored, kind)
            got = {r.key: _as_served(r) for r in got_list}
            problems = self.report.problems
            if len(got) != len(got_list):
                problems.append(f"{user}: {len(got_list) - len(got)} {kind} stored more than once")
            for key in sorted(expected.keys() - got.keys(), key=str)[:5]:
                problems.append(f"{user}: {kind[:-1]} {_show(key)} is missing from the archive")
            for key in sorted(got.keys() - expected.keys(), key=str)[:5]:
                problems.append(f"{user}: {kind[:-1]} {_show(key)} is archived but Sahha does not hold it")
            stale = [k for k in expected.keys() & got.keys() if got[k] != expected[k]]
            for key in sorted(stale, key=str)[:5]:
                created = (got[key].created_at_utc, expected[key].created_at_utc)
                problems.append(
                    f"{user}: {kind[:-1]} {_show(key)} differs from Sahha's latest "
                    f"(stored created {created[0]}, Sahha's {created[1]})"
                )

    def _check_fates(self, rows: dict[str, TrackingRecord]) -> None:
        problems = self.report.problems
        if len(rows) != len(self.report.fates):
            problems.append(f"{len(rows)} tracking rows for {len(self.report.fates)} runs")
        for fate in self.report.fates:
            row = rows.get(fate.run_id)
            if row is None:
                problems.append(f"run {fate.run_id} has no tracking row")
                continue
            expected = _expected_status(fate)
            status = row.status
            seen = {
                "synced": status.sahha_data_synced,
                "archival_requested": status.archival_requested,
                "parts": tuple(getattr(status, f"{p}_synced") for p in PARTS),
                "error": None if status.sync_error is None else status.sync_error.split(":")[0],
                "window": row.window,
                "data_source": row.data_source,
                "analysis_timestamp": row.analysis_timestamp,
            }
            wrong = {k: (seen[k], v) for k, v in expected.items() if seen[k] != v}
            if wrong:
                problems.append(f"run {fate.run_id} ({fate.data_source}, fails at {fate.archive_fails_at}): {wrong}")

    def _figures(self) -> None:
        fates = self.report.fates
        stats = self.source.stats()
        self.report.figures.update(
            runs=len(fates),
            archive_fallbacks=sum(1 for f in fates if f.data_source != "sahha" and not f.served),
            dead_runs=sum(1 for f in fates if f.archive_fails_at is not None),
            jobs_pending_at_restart=self._counts["stalled_submits"],
            recovered_jobs=self._counts["recovered"],
            served_from_archive=self._counts.get("served", 0),
            injected_archive_failures=self.faults.injected,
            webhook_posts=self._counts["webhook_posts"],
            webhook_records=self._counts["webhook_records"],
            webhook_out_of_order=self._counts["webhook_out_of_order"],
            stale_jobs=self._counts["stale_jobs"],
            unlisted_types=sorted(stats.unlisted),
            sahha_requests=stats.requests,
            sahha_retries=stats.retries,
            sahha_failures=dict(stats.failures),
            emulator_429=self.emulator.count(status=429),
        )


def _expected_status(fate: RunFate) -> dict[str, Any]:
    if fate.served:  # nothing fetched, nothing to archive: the row claims no window
        unclaimed = {"window": None, "data_source": None, "analysis_timestamp": None}
        return unclaimed | {"synced": False, "archival_requested": False, "parts": (False,) * len(PARTS), "error": None}
    common = {"window": fate.window, "data_source": fate.data_source, "analysis_timestamp": fate.window.end}
    parts: tuple[bool, ...] = (False, False, False)
    if fate.data_source != "sahha":
        return common | {"synced": False, "archival_requested": False, "parts": parts, "error": "SahhaUnavailableError"}
    if fate.archive_fails_at is not None:
        failed = PARTS.index(fate.archive_fails_at)
        parts = tuple(i < failed for i in range(len(PARTS)))
        return common | {
            "synced": False,
            "archival_requested": True,
            "parts": parts,
            "error": "ArchiveUnavailableError",
        }
    return common | {"synced": True, "archival_requested": True, "parts": (True, True, True), "error": None}


def _as_served(record: Any) -> Any:
    """``record`` as the API serves it: a biomarker or archetype pushed by a webhook carries a ``createdAtUtc``
    (and an archetype a ``version``) that the API's form of the same value does not."""
    if isinstance(record, Score):
        return record
    return dataclasses.replace(
        record, created_at_utc=None, **({} if isinstance(record, Biomarker) else {"version": None})
    )


def _show(key: tuple[Any, ...]) -> str:
    return " ".join(v.isoformat() if isinstance(v, datetime) else str(v) for v in key[1:])
