import asyncio
import itertools
import time

import pytest

from sahha_sync.adapters.sahha.limiter import RequestLimiter


async def starts_through(limiter: RequestLimiter, callers: int, hold_after: int | None = None) -> list[float]:
    starts: list[float] = []

    async def call(n: int) -> None:
        async with limiter.slot():
            starts.append(time.monotonic())
            if hold_after is not None and n == hold_after:
                limiter.hold(0.1)

    await asyncio.gather(*(call(n) for n in range(callers)))
    return starts


async def test_the_nth_start_is_never_earlier_than_n_spacings_after_the_first():
    limiter = RequestLimiter(0.01, 4, sleep=asyncio.sleep, monotonic=time.monotonic)
    starts = await starts_through(limiter, 20)
    for n, start in enumerate(starts):
        assert start - starts[0] >= n * 0.01 - 1e-4


async def test_two_starts_are_never_closer_than_the_minimum_gap():
    limiter = RequestLimiter(0.01, 4, sleep=asyncio.sleep, monotonic=time.monotonic, min_gap=0.01)
    starts = await starts_through(limiter, 20)
    assert min(b - a for a, b in itertools.pairwise(starts)) >= 0.01 - 1e-4


async def test_the_minimum_gap_defaults_to_half_the_spacing():
    limiter = RequestLimiter(0.01, 4, sleep=asyncio.sleep, monotonic=time.monotonic)
    assert limiter.min_gap == 0.005
    starts = await starts_through(limiter, 20)
    assert min(b - a for a, b in itertools.pairwise(starts)) >= 0.005 - 1e-4


async def test_a_spacing_of_zero_lets_every_caller_through_at_once():
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    limiter = RequestLimiter(0.0, 100, sleep=sleep, monotonic=time.monotonic)
    await starts_through(limiter, 50)
    assert sleeps == []


async def test_a_hold_pauses_every_caller_of_the_limiter():
    limiter = RequestLimiter(0.0, 1, sleep=asyncio.sleep, monotonic=time.monotonic)
    starts = await starts_through(limiter, 4, hold_after=1)
    assert starts[2] - starts[1] >= 0.1 - 1e-4


def test_a_negative_spacing_or_a_cap_below_one_is_refused():
    with pytest.raises(ValueError, match="min_interval"):
        RequestLimiter(-1.0, 1, sleep=asyncio.sleep, monotonic=time.monotonic)
    with pytest.raises(ValueError, match="max_concurrency"):
        RequestLimiter(0.0, 0, sleep=asyncio.sleep, monotonic=time.monotonic)


def test_slowing_down_widens_the_spacing_and_its_minimum_gap():
    limiter = RequestLimiter(0.02, 1, sleep=asyncio.sleep, monotonic=time.monotonic)
    assert limiter.slow_down(1.5) == pytest.approx(0.03)
    assert limiter.min_gap == pytest.approx(0.015)


def test_slowing_down_stops_at_the_ceiling_and_leaves_a_spacing_of_zero_off():
    limiter = RequestLimiter(4.0, 1, sleep=asyncio.sleep, monotonic=time.monotonic)
    assert limiter.slow_down(10.0, ceiling=10.0) == 10.0
    off = RequestLimiter(0.0, 1, sleep=asyncio.sleep, monotonic=time.monotonic)
    assert off.slow_down() == 0.0
