"""The license set a publisher assigns to a subscription's seats.

Replaced as a whole on each `PUT .../licenses`; compared ignoring order, so the same
set again is no change (services/provisioning/README.md, "Licenses extension").
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from shared.errors import RuleBroken

LicenseSet = tuple["LicenseAssignment", ...]


class LicenseAssignment(BaseModel):
    model_config = ConfigDict(frozen=True)

    user_id: str
    email: str | None = None


def license_set(assignments: Sequence[LicenseAssignment], seats: int) -> LicenseSet:
    """The set as stored (sorted by user): at least one, each user once, at most `seats`."""
    if not assignments:
        raise RuleBroken("assign at least one license", "assignments")
    user_ids = [a.user_id for a in assignments]
    if len(set(user_ids)) != len(user_ids):
        # Explicit rather than silently merged: the publisher sees its own mistake.
        raise RuleBroken("each userId may appear only once", "assignments")
    if len(assignments) > seats:
        raise RuleBroken(
            f"{len(assignments)} assignments exceed the {seats} purchased seats", "assignments"
        )
    return tuple(sorted(assignments, key=lambda a: a.user_id))
