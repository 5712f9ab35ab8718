"""``to_dict``/``from_dict`` of the record dataclasses, by their fields (private to the domain).

The JSON-ready form holds each field under its name: datetimes as ISO-8601 text, tuples as lists (of dicts for
a tuple of records). Reading it back, a field without a default is required (``KeyError`` when missing), the
others take their default; the user is ``user_id``, or ``profile_id`` in payloads written before the rename.
What to do with each field is worked out once per class (``_Plan``), so a record costs a few dict operations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, fields
from datetime import datetime
from operator import attrgetter
from typing import Any, Self, get_args, get_origin, get_type_hints

from sahha_sync.domain.errors import InvalidInputError

USER = "user_id"


def parse_dt(value: Any, field_name: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidInputError(f"{field_name} is not an ISO-8601 datetime", field=field_name) from exc


def required_dt(value: Any, field_name: str) -> datetime:
    parsed = parse_dt(value, field_name)
    if parsed is None:
        raise InvalidInputError(f"{field_name} is required", field=field_name)
    return parsed


def user_of(data: Mapping[str, Any]) -> Any:
    """The record's user: ``user_id``, or ``profile_id`` as payloads written before the rename carried it."""
    return data[USER] if USER in data else data["profile_id"]


class _Plan:
    """What ``to_dict``/``from_dict`` do with each field of one class."""

    def __init__(self, cls: type) -> None:
        hints = get_type_hints(cls)
        own = [f for f in fields(cls) if f.name != USER]
        self.names = tuple(f.name for f in fields(cls))
        self.values: Callable[[Any], tuple[Any, ...]] = attrgetter(*self.names)
        self.required = tuple(f.name for f in own if f.default is MISSING and f.default_factory is MISSING)
        self.optional = tuple((f.name, f.default) for f in own if f.default is not MISSING)
        self.has_user = len(own) < len(self.names)
        self.datetimes = tuple(f.name for f in own if hints[f.name] is datetime)
        self.optional_datetimes = tuple(f.name for f in own if hints[f.name] == datetime | None)
        self.any_datetimes = self.datetimes + self.optional_datetimes
        items = ((f.name, get_args(hints[f.name])[0]) for f in own if get_origin(hints[f.name]) is tuple)
        self.tuples = tuple((name, getattr(item, "from_dict", None)) for name, item in items)


_PLANS: dict[type, _Plan] = {}


def _plan(cls: type) -> _Plan:
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = _Plan(cls)
    return plan


class Serialised:
    """The base of a record dataclass that has a JSON-ready form (see the module's docstring)."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        plan = _plan(type(self))
        data = dict(zip(plan.names, plan.values(self), strict=True))
        for name in plan.any_datetimes:
            if (moment := data[name]) is not None:
                data[name] = moment.isoformat()
        for name, _ in plan.tuples:
            data[name] = [item.to_dict() if isinstance(item, Serialised) else item for item in data[name]]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        plan = _plan(cls)
        values = {name: data.get(name, default) for name, default in plan.optional}
        values.update({name: data[name] for name in plan.required})
        if plan.has_user:
            values[USER] = user_of(data)
        for name in plan.datetimes:
            values[name] = required_dt(values[name], name)
        for name in plan.optional_datetimes:
            values[name] = parse_dt(values[name], name)
        for name, read in plan.tuples:
            values[name] = tuple(map(read, values[name] or ())) if read else tuple(values[name] or ())
        return cls(**values)
