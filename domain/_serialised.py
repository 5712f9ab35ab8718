"""``to_dict``/``from_dict`` of the record dataclasses, by their fields (private to the domain).

The JSON-ready form holds each field under its name: datetimes as ISO-8601 text, tuples as lists (of dicts for
a tuple of records). Reading it back, a field without a default is required (``KeyError`` when missing), the
others take their default; the user is ``user_id``, or ``profile_id`` in payloads written before the rename.
What to do with each field is worked out once per class (``_Plan``), so a record costs a few dict operations;
``from_dict`` is a function written once per class from its plan (``_reader``) that reads each field by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, fields
from datetime import datetime
from operator import attrgetter
from types import MemberDescriptorType
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
        record: Self = _reader_of(cls)(data)
        return record


_READERS: dict[type, Callable[[Mapping[str, Any]], Any]] = {}


def _reader_of(cls: type) -> Callable[[Mapping[str, Any]], Any]:
    """``cls.from_dict`` as a plain function (written once per class, see ``_reader``)."""
    reader = _READERS.get(cls)
    if reader is None:
        reader = _READERS[cls] = _reader(cls)
    return reader


def _reader(cls: type) -> Callable[[Mapping[str, Any]], Any]:
    """``cls.from_dict`` as one function written from the class's plan: the optional fields read (``get``), then
    the required ones (``KeyError`` for the first missing, in field order), the user, the datetimes (required ones
    first; text goes straight to ``fromisoformat``, and what it refuses, like anything else but an optional None,
    to ``parse_dt``) and the tuples. The record is then built as the dataclass's ``__init__`` builds it, without
    binding a dozen keyword arguments: each slot set in field order, then ``__post_init__`` (which checks it)."""
    plan = _plan(cls)
    given = {*(name for name, _ in plan.optional), *plan.required, *([USER] if plan.has_user else [])}
    if not all(
        f.init and f.name in given and isinstance(getattr(cls, f.name, None), MemberDescriptorType) for f in fields(cls)
    ):
        raise TypeError(f"{cls.__name__} is not a slotted dataclass whose every field is read from its dict")
    lines = [f"f_{name} = data.get({name!r}, d_{name})" for name, _ in plan.optional]
    lines += [f"f_{name} = data[{name!r}]" for name in plan.required]
    if plan.has_user:
        lines.append(f"f_{USER} = data[{USER!r}] if {USER!r} in data else data['profile_id']")
    for name in plan.any_datetimes:
        check, other = ("required_dt", "else") if name in plan.datetimes else ("parse_dt", f"elif f_{name} is not None")
        lines += [
            f"if type(f_{name}) is str:",
            f"    try: f_{name} = fromisoformat(f_{name})",
            f"    except ValueError: f_{name} = {check}(f_{name}, {name!r})",
            f"{other}: f_{name} = {check}(f_{name}, {name!r})",
        ]
    for name, read in plan.tuples:
        items = f"f_{name} or ()"
        lines.append(f"f_{name} = tuple(map(r_{name}, {items}))" if read else f"f_{name} = tuple({items})")
    lines += ["record = new(cls)", *(f"s_{name}(record, f_{name})" for name in plan.names)]
    post_init = getattr(cls, "__post_init__", None)
    lines += ["post_init(record)", "return record"] if post_init else ["return record"]
    scope: dict[str, Any] = {
        "cls": cls,
        "new": object.__new__,
        "post_init": post_init,
        "fromisoformat": datetime.fromisoformat,
        "required_dt": required_dt,
        "parse_dt": parse_dt,
    }
    scope.update({f"d_{name}": default for name, default in plan.optional})
    scope.update({f"r_{name}": read for name, read in plan.tuples})
    scope.update({f"s_{name}": getattr(cls, name).__set__ for name in plan.names})
    body = "".join(f"\n    {line}" for line in lines)
    exec(f"def read(data):{body}", scope)  # the source is built above from the class's field names
    reader: Callable[[Mapping[str, Any]], Any] = scope["read"]
    return reader
