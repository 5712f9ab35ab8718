"""Events as stored: a wire type, a schema version and a JSON-ready payload, read back through upcasting.

``EventCodec`` knows a set of event classes by their wire ``TYPE`` and by the ``FORMER_TYPES`` each replaced.
Reading a payload of an older schema version (or of a former type) asks the event class itself to upcast it
(``DomainEvent.upcast``): the upcasters live on the classes, so nothing is registered anywhere else.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from sahha_sync.domain.errors import InvalidInputError

if TYPE_CHECKING:
    from sahha_sync.domain.events import DomainEvent

Payload = dict[str, Any]


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_encode_value(v) for v in value]
    return value


def _is_datetime_hint(hint: Any) -> bool:
    if hint is datetime:
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return datetime in typing.get_args(hint)
    return False


def _fields_of(cls: type[DomainEvent]) -> tuple[tuple[str, bool], ...]:
    """Each field's name and whether it holds a datetime."""
    hints = typing.get_type_hints(cls)
    return tuple((f.name, _is_datetime_hint(hints[f.name])) for f in dataclasses.fields(cls))


class EventCodec:
    """``encode(event)`` and ``decode(type, schema_version, payload)`` for the given event classes."""

    def __init__(self, classes: Iterable[type[DomainEvent]]) -> None:
        self._types: dict[str, type[DomainEvent]] = {}
        self._former: dict[str, type[DomainEvent]] = {}
        for cls in classes:
            for name, known in ((cls.TYPE, self._types), *((former, self._former) for former in cls.FORMER_TYPES)):
                if name in self._types or name in self._former:
                    raise ValueError(f"two event classes are stored as {name!r}")
                known[name] = cls
        # resolving the hints took a third of a decode: once per class
        self._fields = {cls: _fields_of(cls) for cls in self._types.values()}

    @property
    def types(self) -> Mapping[str, type[DomainEvent]]:
        """The event classes by their current wire type."""
        return MappingProxyType(self._types)

    @staticmethod
    def encode(event: DomainEvent) -> tuple[str, int, Payload]:
        """``(type, schema_version, payload)`` with a JSON-ready payload."""
        payload = {f.name: _encode_value(getattr(event, f.name)) for f in dataclasses.fields(event)}
        return event.TYPE, event.VERSION, payload

    def decode(self, event_type: str, schema_version: int, payload: Payload) -> DomainEvent:
        """The event a stored record stands for, upcast to the current version of its class."""
        cls = self._types.get(event_type)
        data = dict(payload)
        if cls is None:
            cls = self._former.get(event_type)
            if cls is None:
                raise InvalidInputError(f"unknown event type {event_type!r}", field="type")
            data = {**cls.FORMER_TYPES[event_type], **data}
        if schema_version > cls.VERSION:
            raise InvalidInputError(
                f"{event_type} version {schema_version} is newer than this library knows ({cls.VERSION})",
                field="schema_version",
            )
        data = cls.upcast(data, schema_version)
        kwargs: dict[str, Any] = {}
        for name, is_datetime in self._fields[cls]:
            if name not in data:
                continue
            value = data[name]
            if value is not None and is_datetime:
                value = datetime.fromisoformat(value)
            elif isinstance(value, list):
                value = tuple(value)
            kwargs[name] = value
        return cls(**kwargs)
