"""A SQL store on its own, for tests: each call one committed unit of work, as separate requests of a host
would make it (the stores themselves always run on a unit of work's connection)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from sahha_sync.adapters.sql import SqlUnitOfWork


class Committed:
    """``Committed(engine, "archive")``: every method of the unit of work's ``archive``, each call in a new
    ``SqlUnitOfWork`` that commits when the call returns and rolls back when it raises."""

    def __init__(self, engine: AsyncEngine, store: str) -> None:
        self._engine, self._store = engine, store

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        async def call(*args: Any, **kwargs: Any) -> Any:
            async with SqlUnitOfWork(self._engine) as uow:
                result = await getattr(getattr(uow, self._store), name)(*args, **kwargs)
                await uow.commit()
                return result

        return call
