"""What a partner may ask of a subscription after purchase, and the value rules of each
field (docs/subscription-lifecycle.md, "The partner's PATCH").

`SubscriptionChanges` is one PATCH: a field left `UNCHANGED` was not named (so a
`partnerId` of None, which clears it, differs from no `partnerId` at all). The value
rules here answer 400 (RuleBroken); the rules of state (409) are the aggregate's, in
`subscription.py`. Values are checked here even though the HTTP schema types them:
the domain does not trust its callers' parsing.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Final, Literal

from services.ordering.domain.cart_rules import MPN_ID
from shared.catalog import Plan
from shared.errors import Conflict, RuleBroken

FRIENDLY_NAME_MAX = 128
TargetStatus = Literal["suspended", "active", "deleted"]
TARGET_STATUSES: tuple[str, ...] = ("suspended", "active", "deleted")


class _Unchanged(enum.Enum):
    UNCHANGED = "unchanged"

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Final = _Unchanged.UNCHANGED
Unchanged = Literal[_Unchanged.UNCHANGED]


@dataclass(frozen=True)
class SubscriptionChanges:
    """The fields one PATCH names, under the domain's names (`partnerId` is
    `reseller_mpn_id`). Typed loosely on purpose: each is checked by its rule."""

    friendly_name: Any = UNCHANGED
    reseller_mpn_id: Any = UNCHANGED  # None clears it
    auto_renew_enabled: Any = UNCHANGED
    quantity: Any = UNCHANGED
    status: Any = UNCHANGED

    @property
    def named(self) -> list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name) is not UNCHANGED]


@dataclass(frozen=True)
class ChangeRequest:
    """Who asks and when, and where each request event's operation id comes from: the
    caller makes them (uuid4 in the handler), so the domain stays deterministic."""

    requested_by: str  # the partner user (token `sub`)
    requested_at: datetime  # business time
    new_operation_id: Callable[[], str]


def checked_friendly_name(value: Any) -> str:
    """Trimmed; 1 to 128 characters."""
    if not isinstance(value, str):
        raise RuleBroken("friendlyName must be a string", "friendlyName")
    name = value.strip()
    if not 1 <= len(name) <= FRIENDLY_NAME_MAX:
        raise RuleBroken(
            f"friendlyName must be 1 to {FRIENDLY_NAME_MAX} characters after trimming",
            "friendlyName",
        )
    return name


def checked_mpn_id(value: Any) -> str | None:
    """The indirect reseller's MPN ID: 1 to 10 ASCII digits, or None to clear it."""
    if value is not None and not (isinstance(value, str) and MPN_ID.fullmatch(value)):
        raise RuleBroken(
            "partnerId (the indirect reseller's MPN ID) must be 1 to 10 digits, or null",
            "partnerId",
        )
    return value


def checked_auto_renew(value: Any) -> bool:
    if not isinstance(value, bool):
        raise RuleBroken("autoRenewEnabled must be true or false", "autoRenewEnabled")
    return value


def checked_quantity(value: Any, plan: Plan | None) -> int:
    """An integer within the plan's limits. The plan is the one the subscription was
    bought on; if the catalog no longer has it, no seat count can be judged (409)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise RuleBroken("quantity must be an integer", "quantity")
    if plan is None:
        raise Conflict("the catalog no longer sells this subscription's plan", "quantity")
    if not plan.min_quantity <= value <= plan.max_quantity:
        raise RuleBroken(
            f"quantity must be between {plan.min_quantity} and {plan.max_quantity}"
            f" for plan {plan.plan_id!r}",
            "quantity",
        )
    return value


def checked_status(value: Any) -> TargetStatus:
    if value not in TARGET_STATUSES:
        raise RuleBroken(f"status must be one of {', '.join(TARGET_STATUSES)}", "status")
    return value  # type: ignore[no-any-return]
