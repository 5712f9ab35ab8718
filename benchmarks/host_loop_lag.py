"""Does a host's event loop stall while sahha-sync works in it? Loop lag beside analyses with in-process archival.

    python benchmarks/host_loop_lag.py [--runs 40 --users 10 --concurrency 4]

A ``SahhaSync`` on the embedded defaults (a SQLite file in a scratch folder, the in-memory queue with its workers in
this process, the Sahha emulator reached through the real client, the offline analyst) runs ``--runs`` analyses,
``--concurrency`` at a time, over ``--users`` users (each one's first run fetches 7 days), with a zero freshness
bound so every run fetches, parses, computes its metrics and submits an archival job that runs in the same loop.
Beside it a ticker sleeps 1 ms at a time and records how much later than asked it woke: the loop lag any other
request of the host would meet, and the CPU time the loop's thread spent between two wake-ups (the stall the code
itself causes; the lag also holds the waits of a loaded machine and of threads holding the GIL). Printed: lag
max / p99 / p50, the CPU held max / p99, ``run_analysis`` p50 / p99, the time to drain the archival queue, and the
full garbage collections (passes over the whole heap, most of it the modules imported, on whichever thread set them
off) made while measuring. ``--freeze-gc`` freezes the heap after the warm-up (``gc.freeze()``), as a host may once
it has started, so those passes skip it. The warm-up (start, migration, first run) is not measured.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import statistics
import tempfile
import time
from pathlib import Path

TICK = 0.001


class Ticker:
    """Sleeps ``TICK`` at a time and records the lag of each wake-up."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self.held: list[float] = []  # CPU time the loop's thread spent between two wake-ups, less the tick's own
        self.full_collections: list[float] = []  # how long each full garbage collection took
        self._collecting: float | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        gc.callbacks.append(self._on_collection)
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        gc.callbacks.remove(self._on_collection)

    def _on_collection(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._collecting = time.perf_counter()
        elif self._collecting is not None:
            self.full_collections.append(time.perf_counter() - self._collecting)
            self._collecting = None

    async def _run(self) -> None:
        while True:
            asked, cpu = time.perf_counter(), time.thread_time()
            await asyncio.sleep(TICK)
            self.lags.append(max(time.perf_counter() - asked - TICK, 0.0))
            self.held.append(time.thread_time() - cpu)


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)] if ordered else float("nan")


async def measure(args: argparse.Namespace, folder: Path) -> None:
    os.environ.pop("SAHHA_CLIENT_ID", None)
    os.environ.pop("OPENAI_API_KEY", None)
    from sahha_sync.infrastructure import SahhaSync
    from sahha_sync.infrastructure.settings import Settings

    settings = Settings(database_url=f"sqlite:///{folder / 'sync.db'}", queue="memory", max_staleness=0)
    users = [f"user-{n:04d}" for n in range(1, args.users + 1)]
    async with SahhaSync(settings, recover_on_start=False) as sync:
        await sync.run_analysis("user-9999", "Peak Performer", "behavior_analysis")  # warm-up
        assert await sync.wait_for_archival(120)
        if args.freeze_gc:
            gc.collect()
            gc.freeze()
        ticker = Ticker()
        waits: list[float] = []
        gate = asyncio.Semaphore(args.concurrency)

        async def one(n: int) -> None:
            async with gate:
                kind = "behavior_analysis" if n % 2 == 0 else "circadian_analysis"
                began = time.perf_counter()
                await sync.run_analysis(users[n % len(users)], "Peak Performer", kind)
                waits.append(time.perf_counter() - began)

        ticker.start()
        began = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(args.runs)))
        answered = time.perf_counter() - began
        assert await sync.wait_for_archival(600)
        drained = time.perf_counter() - began
        await ticker.stop()
    lags, held = ticker.lags, ticker.held
    print(
        f"{args.runs} analyses ({args.concurrency} at a time, {args.users} users), archival in the same loop "
        f"(SQLite, in-memory queue, emulator, offline analyst)"
    )
    print(
        f"  loop lag: max {max(lags) * 1000:.1f} ms, p99 {quantile(lags, 0.99) * 1000:.1f} ms, "
        f"p50 {quantile(lags, 0.50) * 1000:.2f} ms ({len(lags)} ticks)"
    )
    print(
        f"  loop held by CPU work between two ticks (the loop thread's CPU time, whatever the machine's load): "
        f"max {max(held) * 1000:.1f} ms, p99 {quantile(held, 0.99) * 1000:.1f} ms"
    )
    print(
        f"  run_analysis: p50 {statistics.median(waits) * 1000:.1f} ms, p99 {quantile(waits, 0.99) * 1000:.1f} ms; "
        f"all answered in {answered:.2f} s, archival drained at {drained:.2f} s"
    )
    passes = ticker.full_collections
    longest = f", longest {max(passes) * 1000:.1f} ms" if passes else ""
    frozen = "heap frozen after the warm-up" if args.freeze_gc else "heap not frozen"
    print(f"  full garbage collections while measured: {len(passes)}{longest} ({frozen})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--freeze-gc", action="store_true", help="gc.freeze() after the warm-up, as a host may")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sahha-sync-lag-") as folder:
        asyncio.run(measure(args, Path(folder)))


if __name__ == "__main__":
    main()
