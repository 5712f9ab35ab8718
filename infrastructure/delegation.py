"""``delegate``: a method that forwards to another object's method, so that a signature is written once.

``SahhaSync``'s methods are its use cases' own, and the seed's accessors' and agents' methods are
``SahhaSync``'s: each says what it forwards to and finds the object when it is called.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


def delegate(
    target: Callable[[Any], Awaitable[T]],
    method: Callable[Concatenate[T, P], Awaitable[R]],
    *,
    doc: str | None = None,
) -> Callable[Concatenate[Any, P], Coroutine[Any, Any, R]]:
    """A method that calls ``method`` on ``await target(self)``: it takes what ``method`` takes and returns what
    it returns; its name is ``method``'s, its docstring ``doc`` (else ``method``'s)."""

    async def call(owner: Any, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return await method(await target(owner), *args, **kwargs)

    call.__name__, call.__qualname__ = method.__name__, method.__qualname__
    call.__doc__ = doc if doc is not None else method.__doc__
    return call
