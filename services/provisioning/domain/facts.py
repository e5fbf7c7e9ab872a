"""What the aggregate reports happened; the service layer turns these into events.

Kept apart from the wire events (shared/events) so the domain does not know about
envelopes, ids or topics.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class LicensesChanged:
    assigned_count: int
    quantity: int


@dataclass(frozen=True)
class ActivationDone:
    """Licenses assigned AND activation confirmed: the term starts now."""

    licenses_assigned: int
    term_start: datetime
    term_end: datetime


Fact = LicensesChanged | ActivationDone
