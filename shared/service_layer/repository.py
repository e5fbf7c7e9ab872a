"""Aggregates in and out of one store collection, inside the current unit of work.

One generic repository serves every aggregate of every service: documents are the
aggregate's own `model_dump(mode="json")`, so there are no hand-written mappers. A
repository remembers what it handed out; the unit of work saves the ones that changed
and collects their events at commit (cosmicpython's `seen`), so no use case calls
`save` or `emit`. Subclasses add finders (`for_subscription`), and paged ones
through `_find_page` (`page_for_customer`), and what falls due through `_find_due`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from shared.domain.aggregate import Aggregate
from shared.service_layer.paging import Paged, PageRequest

if TYPE_CHECKING:
    from shared.service_layer.unit_of_work import UnitOfWork

A = TypeVar("A", bound=Aggregate)


class Repository(Generic[A]):
    model: ClassVar[type[Aggregate]]

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._docs = uow.transaction.collection(self.model.COLLECTION)

    async def add(self, aggregate: A) -> A:
        """A new aggregate; raises shared.store.port.DuplicateKey when the id exists."""
        document = aggregate.document()
        await self._docs.insert(aggregate.id, document)
        self._uow.track(aggregate, document, added=True)
        return aggregate

    async def get(self, key: str) -> A | None:
        document = await self._docs.get(key)
        return None if document is None else self._loaded(document)

    async def _find(self, **equals: Any) -> list[A]:
        """Documents whose top-level fields equal these values, in insertion order."""
        return [self._loaded(doc) for doc in await self._docs.find(**equals)]

    async def _find_page(
        self, page: PageRequest, *, descending: bool = False, **equals: Any
    ) -> Paged[A]:
        """One page of `_find` (newest first if `descending`); `Paged.next` is the store's
        cursor (an insertion sequence) for the next page."""
        documents, cursor = await self._docs.find_page(
            page.size, page.after, descending=descending, **equals
        )
        return Paged([self._loaded(doc) for doc in documents], cursor)

    async def _find_due(self, field: str, until: datetime, limit: int) -> list[A]:
        """At most `limit` aggregates whose stored `field` (a `due_stamp` the aggregate's
        `document()` writes) is at or before `until`, the earliest first."""
        return [self._loaded(doc) for doc in await self._docs.find_due(field, until, limit)]

    def _loaded(self, document: dict[str, Any]) -> A:
        aggregate: A = self.model.model_validate(document)  # type: ignore[assignment]
        return self._uow.track(aggregate, document)
