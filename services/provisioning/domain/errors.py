"""Rule violations the domain reports; the HTTP layer turns them into 400s."""

from __future__ import annotations


class RuleViolation(Exception):
    """The request breaks a fulfillment rule; `field` names the offending input."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
