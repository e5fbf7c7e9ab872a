"""Frozen records without a decorator on each: the base of messages and domain events.

A subclass of `Record` is a frozen dataclass as soon as it is defined (PEP 681's
`dataclass_transform` tells type checkers so), the way pydantic models need no
decorator. Commands, queries and domain events are many small declarations; one
base keeps each to its name and its fields.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass
from typing import Any, dataclass_transform


@dataclass_transform(frozen_default=True)
class Record:
    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        dataclass(frozen=True)(cls)


def plain_fields(record: Any) -> dict[str, Any]:
    """A record's fields as a dict, nested records and containers as dicts and lists,
    like `dataclasses.asdict` without its deep copy of every value: the values here are
    immutable (str, Decimal, datetime), and the copy was a tenth of an event's handling."""
    return {f.name: _plain(getattr(record, f.name)) for f in fields(record)}


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return plain_fields(value)
    if isinstance(value, list | tuple):
        return type(value)(_plain(item) for item in value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value
