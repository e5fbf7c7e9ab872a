"""Pages of a query's answer: which page is asked for, and what a page holds.

A position is an int the caller got from the previous page (`Paged.next`) and hands
back unchanged (`PageRequest.after`); what it counts belongs to whoever made the page:
the store's insertion sequence (`Repository._find_page`), or how many items came
before (`page_of`, for lists held in memory). HTTP wraps it in an opaque continuation
token (`shared/http/paging.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 100


@dataclass(frozen=True)
class PageRequest:
    size: int = DEFAULT_PAGE_SIZE
    after: int | None = None  # None: the first page

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError(f"a page holds at least one item, got size={self.size}")


@dataclass(frozen=True)
class Paged(Generic[T]):
    items: list[T]
    next: int | None  # the `after` of the next page; None on the last page


def page_of(items: Sequence[T], page: PageRequest) -> Paged[T]:
    """A page of a list held in memory; the position is how many items came before."""
    start = max(page.after or 0, 0)
    end = start + page.size
    return Paged(list(items[start:end]), end if end < len(items) else None)
