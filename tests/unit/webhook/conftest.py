from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.unit.webhook.deliveries import Harness, harness


@pytest.fixture
async def hooks() -> AsyncIterator[Harness]:
    async with harness() as running:
        yield running
