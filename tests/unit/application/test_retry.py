"""Backoff and is_retryable: the one rule every retry in the library waits by."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sahha_sync.application.ports.health_data_source import SahhaUnavailableError
from sahha_sync.application.retry import Backoff, is_retryable
from sahha_sync.domain.errors import InvalidInputError

retries = st.integers(min_value=1, max_value=10_000)
bases = st.floats(min_value=0, max_value=1e6, allow_nan=False)
caps = st.floats(min_value=0, max_value=1e9, allow_nan=False)


def test_the_ceiling_doubles_from_the_base_until_the_cap() -> None:
    backoff = Backoff(0.5, cap=5.0)
    assert [backoff.ceiling(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


def test_without_a_cap_the_ceiling_keeps_doubling() -> None:
    assert [Backoff(2.0).ceiling(n) for n in (1, 2, 3, 11)] == [2.0, 4.0, 8.0, 2048.0]


@given(base=bases, cap=caps, retry=retries, seed=st.integers())
def test_a_jittered_wait_lies_between_zero_and_the_ceiling(base: float, cap: float, retry: int, seed: int) -> None:
    backoff = Backoff(base, cap=cap)
    assert 0.0 <= backoff.delay(retry, rng=random.Random(seed)) <= backoff.ceiling(retry) <= cap


@given(base=bases, retry=retries)
def test_the_ceiling_is_finite_however_many_retries_came_before(base: float, retry: int) -> None:
    assert Backoff(base).ceiling(retry) < float("inf")


def test_jittered_waits_spread_over_the_whole_range() -> None:
    rng = random.Random(7)
    waits = [Backoff(1.0).delay(4, rng=rng) for _ in range(2000)]
    assert min(waits) < 0.8  # full jitter: not "half the ceiling plus jitter"
    assert max(waits) > 7.2
    assert len(set(waits)) == len(waits)


def test_without_jitter_the_wait_is_the_ceiling() -> None:
    backoff = Backoff(0.001, jitter=False)
    assert [backoff.delay(n) for n in (1, 2, 3)] == [0.001, 0.002, 0.004]


@pytest.mark.parametrize("retry_after", [0.0, 3.0, 500.0])
def test_a_servers_retry_after_is_the_wait_whatever_the_ceiling(retry_after: float) -> None:
    assert Backoff(1.0, cap=10.0).delay(1, retry_after=retry_after) == retry_after


def test_a_retry_after_in_the_past_waits_nothing() -> None:
    assert Backoff(1.0).delay(2, retry_after=-4.0) == 0.0


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Backoff(-1.0), "base"),
        (lambda: Backoff(float("nan")), "base"),
        (lambda: Backoff(1.0, cap=-1.0), "cap"),
        (lambda: Backoff(1.0).ceiling(0), "retry"),
        (lambda: Backoff(1.0).delay(-2), "retry"),
    ],
)
def test_bad_arguments_are_refused_naming_the_field(make: object, field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        make()  # type: ignore[operator]
    assert caught.value.field == field


def test_an_error_is_retryable_only_when_it_says_so() -> None:
    class HostError(Exception):
        retryable = True

    assert is_retryable(SahhaUnavailableError("down"))
    assert is_retryable(HostError())
    assert not is_retryable(InvalidInputError("bad"))
    assert not is_retryable(ValueError("bad"))
