"""Failure and delay injection shared by the in-memory fakes, so tests can make an outside thing fail or slow."""

from __future__ import annotations

import asyncio
from collections.abc import Collection


class FaultInjector:
    """Raise a chosen error from chosen operations, ``times`` times (or until cleared), and hold calls at a gate.

    ``block()`` closes the gate: every call then waits in ``pass_gate`` until ``release()``. ``delay`` adds a
    sleep to every call.
    """

    def __init__(self) -> None:
        self._error: BaseException | None = None
        self._remaining: int | None = None
        self._operations: frozenset[str] | None = None
        self._gate = asyncio.Event()
        self._gate.set()
        self.delay: float = 0.0
        self.waiting = 0

    def fail_with(
        self, error: BaseException, *, times: int | None = None, operations: Collection[str] | None = None
    ) -> None:
        """Raise ``error`` from the next ``times`` calls (every call when None) of ``operations`` (all when None)."""
        if times is not None and times < 0:
            raise ValueError("times must not be negative")
        self._error = error
        self._remaining = times
        self._operations = None if operations is None else frozenset(operations)

    def clear_failures(self) -> None:
        self._error = None
        self._remaining = None
        self._operations = None

    def block(self) -> None:
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()

    async def pass_gate(self, operation: str) -> None:
        """Wait at the gate and for the delay, then raise the injected error if it applies to ``operation``."""
        if not self._gate.is_set():
            self.waiting += 1
            try:
                await self._gate.wait()
            finally:
                self.waiting -= 1
        if self.delay > 0:
            await asyncio.sleep(self.delay)
        self._maybe_fail(operation)

    def _maybe_fail(self, operation: str) -> None:
        error = self._error
        if error is None or (self._operations is not None and operation not in self._operations):
            return
        if self._remaining is not None:
            if self._remaining == 0:
                return
            self._remaining -= 1
        raise error.with_traceback(None)
