"""How close the Sahha client gets to a server's rate limit, against the seed's serial client.

    python benchmarks/sahha_fetch.py
    python benchmarks/sahha_fetch.py --users 500 --latency-ms 50 --server-rps 40

Serves the Sahha emulator on 127.0.0.1 (a free port, in a subprocess, with uvicorn) with ``--latency-ms`` per
request and a token-bucket rate limit of ``--server-rps`` requests/s (bursts of ``--server-burst``) that answers
429 with ``Retry-After``. Then:

- ``client``: ``SahhaHealthDataSource`` syncs the last ``--days`` days of ``--users`` users, all started at once;
  its limiter spaces requests at ``1 / (server_rps * --headroom)`` with at most ``--concurrency`` in flight.
  Printed: requests answered per second as a fraction of the server's limit, 429s, retries, failed fetches,
  wall time.
- ``serial``: the seed's client (one request at a time, ``asyncio.sleep(0.5)`` before each) fetches a sample of
  ``--serial-sample`` users; its wall time for all users is extrapolated from the sample (and says so).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from sahha_sync.adapters.sahha import SahhaHealthDataSource
from sahha_sync.adapters.sahha.api import encode_segment, format_query_datetime
from sahha_sync.adapters.sahha.emulator import EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET, SyntheticPopulation
from sahha_sync.domain import FetchWindow

SEED_DELAY = 0.5  # the seed's SAHHA_RATE_LIMIT_DELAY


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def emulator_server(args: argparse.Namespace) -> Iterator[str]:
    port = free_port()
    # The population draws each user's days once, before serving: the run measures the client, not the
    # emulator drawing synthetic data on first touch.
    code = (
        "from datetime import UTC, datetime, timedelta\n"
        "from sahha_sync.adapters.sahha.emulator import SyntheticPopulation, serve\n"
        "from sahha_sync.domain import FetchWindow\n"
        f"population = SyntheticPopulation({args.seed}, size={args.users})\n"
        "now = datetime.now(UTC)\n"
        f"window = FetchWindow(now - timedelta(days={args.days + 1}), now + timedelta(days=1))\n"
        "for user in population.profile_ids:\n"
        "    population.records_for(user, window, include_archetypes=False)\n"
        f"serve('127.0.0.1', {port}, population=population,"
        f" latency={args.latency_ms / 1000!r}, rate_limit={args.server_rps!r}, burst={args.server_burst!r})\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the emulator did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class ClientRun:
    wall: float
    fetches: int
    failed: int
    records: int
    requests: int
    answered: int
    rate_limited: int
    retries: int


async def run_client(base_url: str, users: list[str], window: FetchWindow, args: argparse.Namespace) -> ClientRun:
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    async with httpx.AsyncClient(limits=limits) as http:
        source = SahhaHealthDataSource(
            http,
            client_id=EMULATOR_CLIENT_ID,
            client_secret=EMULATOR_CLIENT_SECRET,
            base_url=base_url,
            rate_limit_delay=1.0 / (args.server_rps * args.headroom),
            max_concurrency=args.concurrency,
            max_retries=5,
            cache_ttl=0.0,
        )
        started = time.perf_counter()
        results = await asyncio.gather(*(source.fetch(u, window) for u in users), return_exceptions=True)
        wall = time.perf_counter() - started
    stats = source.stats()
    good = [r for r in results if not isinstance(r, BaseException)]
    return ClientRun(
        wall=wall,
        fetches=len(results),
        failed=len(results) - len(good),
        records=sum(r.total_items for r in good),
        requests=stats.requests,
        answered=stats.requests - stats.rate_limited,
        rate_limited=stats.rate_limited,
        retries=stats.retries,
    )


async def run_serial(base_url: str, users: list[str], window: FetchWindow) -> float:
    """The seed's client: sleep 0.5 s, then one request; biomarkers, then scores; one user after another."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30.0) as http:
        credentials = {"clientId": EMULATOR_CLIENT_ID, "clientSecret": EMULATOR_CLIENT_SECRET}
        token = (await http.post("/api/v1/oauth/account/token", json=credentials)).json()["accountToken"]
        headers = {"Authorization": f"account {token}"}
        dates = [
            ("startDateTime", format_query_datetime(window.start)),
            ("endDateTime", format_query_datetime(window.end)),
        ]
        everything = [("categories", c) for c in ("activity", "sleep", "vitals")] + [
            ("types", t) for t in ("steps", "sleep_duration", "heart_rate_resting")
        ]
        started = time.perf_counter()
        for user in users:
            for route, params in (("biomarker", everything + dates), ("score", dates)):
                await asyncio.sleep(SEED_DELAY)
                answer = await http.get(
                    f"/api/v1/profile/{route}/{encode_segment(user)}", params=params, headers=headers
                )
                answer.raise_for_status()
        return time.perf_counter() - started


def report(args: argparse.Namespace, client: ClientRun, serial_sample: float, sample_size: int) -> None:
    rate = client.answered / client.wall
    serial_total = serial_sample / sample_size * args.users
    print(f"Sahha fetch benchmark: {args.users} users x {args.days} days, server {args.latency_ms:g} ms latency,")
    print(f"  limit {args.server_rps:g} req/s (burst {args.server_burst:g}); client {args.concurrency} in flight,")
    print(f"  spacing {1000 / (args.server_rps * args.headroom):.2f} ms ({args.headroom:.0%} of the limit)")
    print()
    print(f"client   wall time            {client.wall:8.1f} s")
    print(f"         requests answered    {client.answered:8d}  ({client.requests} sent, incl. 1 token request)")
    print(f"         achieved rate        {rate:8.1f} req/s = {rate / args.server_rps:.1%} of the server's limit")
    print(f"         429 answers          {client.rate_limited:8d}")
    print(f"         retries              {client.retries:8d}")
    print(f"         failed fetches       {client.failed:8d} of {client.fetches}")
    print(f"         records fetched      {client.records:8d}")
    print(
        f"serial   wall time (est.)     {serial_total:8.1f} s  (measured {serial_sample:.1f} s for {sample_size} users,"
    )
    print(
        f"                                          extrapolated to {args.users}; {SEED_DELAY} s before each request)"
    )
    print(f"speed-up                      {serial_total / client.wall:8.1f} x")
    target = rate / args.server_rps >= 0.9 and client.failed == 0
    print(f"target (>= 90% of the limit, no failed fetch): {'met' if target else 'NOT met'}")


async def main(args: argparse.Namespace) -> None:
    population = SyntheticPopulation(args.seed, size=args.users)
    users = list(population.profile_ids)
    now = datetime.now(UTC)
    window = FetchWindow(now - timedelta(days=args.days), now)
    with emulator_server(args) as base_url:
        client = await run_client(base_url, users, window, args)
        await asyncio.sleep(1.0)  # let the server's bucket fill again, so the serial run starts as the client did
        sample = users[: args.serial_sample]
        serial = await run_serial(base_url, sample, window)
    report(args, client, serial, len(sample))


def add_server_options(parser: argparse.ArgumentParser, *, users: int) -> None:
    """The options ``emulator_server`` reads: the population, the days served, latency and the rate limit."""
    parser.add_argument("--users", type=int, default=users)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--server-rps", type=float, default=40.0)
    parser.add_argument("--server-burst", type=float, default=10.0)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_server_options(parser, users=500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--headroom", type=float, default=0.97, help="client rate as a fraction of the server's limit")
    parser.add_argument("--serial-sample", type=int, default=10)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
