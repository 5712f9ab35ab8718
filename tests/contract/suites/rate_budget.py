"""``RateBudgetContract``: one schedule per account, shared by every process: reservations follow each other
whoever makes them, a pause holds back everyone's next reservation and is never shortened, starts that pass
unused are gone, and the figures add up what every process reported.

The fixture to override, ``make_budget``, returns a callable ``make_budget(holder, account="primary")`` giving
the handle of process ``holder`` on ``account`` (each test's accounts must be fresh: e.g. suffix them with a
random id). Spacings are seconds long where the order matters, so a loaded machine cannot blur the figures::

    class TestMyBudget(RateBudgetContract):
        @pytest.fixture
        def make_budget(self):
            suffix = uuid.uuid4().hex
            return lambda holder, account="primary": MyBudget(f"{account}-{suffix}", holder=holder)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from sahha_sync.application.ports.rate_budget import RateBudget, RateBudgetFigures, Usage
from sahha_sync.domain.errors import InvalidInputError

MakeBudget = Callable[..., RateBudget]
SLACK = 1.0  # seconds a slow machine may take between two calls of one test


class RateBudgetContract:
    @pytest.fixture
    def make_budget(self) -> MakeBudget:
        raise NotImplementedError("override make_budget with a fixture returning make_budget(holder, account)")

    async def test_the_first_reservation_starts_at_once(self, make_budget: MakeBudget) -> None:
        grant = await make_budget("p1").reserve(3, 10.0)
        assert (grant.count, grant.spacing, grant.processes) == (3, 10.0, 1)
        assert 0.0 <= grant.delay < SLACK

    async def test_reservations_follow_each_other_whichever_process_makes_them(self, make_budget: MakeBudget) -> None:
        first, second = make_budget("p1"), make_budget("p2")
        await first.reserve(3, 10.0)
        after_three = await second.reserve(2, 10.0)
        after_five = await first.reserve(1, 10.0)
        assert 30.0 - SLACK < after_three.delay <= 30.0
        assert 50.0 - SLACK < after_five.delay <= 50.0
        assert after_five.processes == 2

    async def test_a_pause_holds_back_every_process_and_a_shorter_one_never_cuts_it(
        self, make_budget: MakeBudget
    ) -> None:
        await make_budget("p1").pause(60.0)
        await make_budget("p3").pause(1.0)
        grant = await make_budget("p2").reserve(1, 0.01)
        assert 60.0 - SLACK < grant.delay <= 60.0
        figures = await make_budget("p2").figures()
        assert 60.0 - 2 * SLACK < figures.paused_for <= 60.0

    async def test_starts_that_pass_unused_are_gone(self, make_budget: MakeBudget) -> None:
        held = await make_budget("gone").reserve(5, 0.02)
        await asyncio.sleep(held.delay + 5 * 0.02 + 0.05)
        grant = await make_budget("p2").reserve(1, 0.02)
        assert abs(grant.delay) < 0.01

    async def test_the_figures_add_up_what_every_process_reported(self, make_budget: MakeBudget) -> None:
        first, second = make_budget("p1"), make_budget("p2")
        await first.reserve(1, 0.0, Usage(requests=5, rate_limited=1))
        await second.reserve(2, 0.0, Usage(requests=3))
        await second.pause(0.0, Usage(requests=1, rate_limited=2))
        figures = await make_budget("reader").figures()
        assert (figures.requests, figures.rate_limited, figures.processes) == (9, 3, 2)
        assert 0.0 < figures.rate_limited_rate < figures.request_rate <= 9 / 60

    async def test_a_process_that_only_paused_counts_among_the_processes(self, make_budget: MakeBudget) -> None:
        await make_budget("p1").reserve(1, 0.0)
        await make_budget("p2").pause(1.0)
        assert (await make_budget("reader").figures()).processes == 2

    async def test_an_account_nobody_reserved_from_has_zero_figures(self, make_budget: MakeBudget) -> None:
        assert await make_budget("p1", "unused").figures() == RateBudgetFigures()

    async def test_accounts_have_schedules_of_their_own(self, make_budget: MakeBudget) -> None:
        await make_budget("p1", "primary").reserve(3, 10.0)
        await make_budget("p1", "primary").pause(60.0)
        other = await make_budget("p1", "other").reserve(1, 10.0)
        assert 0.0 <= other.delay < SLACK

    @pytest.mark.parametrize(("count", "spacing"), [(0, 1.0), (-1, 1.0), (1, -0.5), (1, float("nan"))])
    async def test_a_reservation_of_nothing_or_with_a_negative_spacing_is_refused(
        self, make_budget: MakeBudget, count: int, spacing: float
    ) -> None:
        with pytest.raises(InvalidInputError):
            await make_budget("p1").reserve(count, spacing)

    async def test_a_negative_pause_or_usage_is_refused(self, make_budget: MakeBudget) -> None:
        with pytest.raises(InvalidInputError, match="pause"):
            await make_budget("p1").pause(-1.0)
        with pytest.raises(InvalidInputError, match="usage"):
            await make_budget("p1").reserve(1, 0.0, Usage(requests=-1))
