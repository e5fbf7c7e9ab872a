"""Domain failures; the HTTP entrypoint maps them to 400 / 404 / 409."""

from __future__ import annotations


class OrderingError(Exception):
    def __init__(self, message: str, target: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.target = target  # the offending field, e.g. "lineItems[0].planId"


class InvalidInput(OrderingError):
    """The request breaks a rule of the catalog or of the API (400)."""


class NotFound(OrderingError):
    """Unknown, or belongs to another partner: both look the same to the caller (404)."""


class Conflict(OrderingError):
    """Valid input, but the current state forbids it, e.g. a second checkout (409)."""
