from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.unit.operations.pipeline import Pipeline


@pytest.fixture
async def pipeline() -> AsyncIterator[Pipeline]:
    built = Pipeline()
    await built.queue.start()
    yield built
    await built.queue.stop(drain=False)
