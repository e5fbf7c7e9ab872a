"""Frozen records without a decorator on each: the base of messages and domain events.

A subclass of `Record` is a frozen dataclass as soon as it is defined (PEP 681's
`dataclass_transform` tells type checkers so), the way pydantic models need no
decorator. Commands, queries and domain events are many small declarations; one
base keeps each to its name and its fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, dataclass_transform


@dataclass_transform(frozen_default=True)
class Record:
    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        dataclass(frozen=True)(cls)
