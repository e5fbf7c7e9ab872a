"""The one error vocabulary of every service.

Domain rules and use cases raise these; `shared.http.errors` maps them to HTTP in one
place; an event consumer retries the event, stopping its partition, until it succeeds.
`target` names the offending input (`lineItems[0].quantity`, `x-ms-marketplace-token`).
"""

from __future__ import annotations


class Problem(Exception):
    """Base of every expected failure: a message for the caller and what it is about."""

    def __init__(self, message: str, target: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.target = target


class RuleBroken(Problem):
    """The request breaks a rule: a bad value, outside the plan's limits (HTTP 400)."""


class NotFound(Problem):
    """Unknown, or hidden from this caller: both look the same (HTTP 404)."""


class Forbidden(Problem):
    """Known, but this caller may not touch it (HTTP 403)."""


class Conflict(Problem):
    """Valid, but the current state forbids it, e.g. a second checkout (HTTP 409)."""


class Unauthorized(Problem):
    """No valid identity at all (HTTP 401)."""


class Unavailable(Problem):
    """Something this depends on cannot answer now; retrying later may work (HTTP 503)."""
