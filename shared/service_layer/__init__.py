"""The application kernel every service shares: message bus, unit of work, repository."""

from shared.service_layer.messagebus import (
    ALREADY_HANDLED,
    Command,
    InboxEntry,
    MessageBus,
    Query,
)
from shared.service_layer.paging import Paged, PageRequest, page_of
from shared.service_layer.repository import Repository
from shared.service_layer.unit_of_work import Cause, UnitOfWork

__all__ = [
    "ALREADY_HANDLED",
    "Cause",
    "Command",
    "InboxEntry",
    "MessageBus",
    "PageRequest",
    "Paged",
    "Query",
    "Repository",
    "UnitOfWork",
    "page_of",
]
