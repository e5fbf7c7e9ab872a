"""What a caller asks of provisioning: commands, imperative, plain data.

A route or a consumer builds one and hands it to the message bus; the handler in
`service_layer/handlers.py` runs it (docs/architecture.md, "One way per concern").
"""

from __future__ import annotations

from datetime import datetime

from services.provisioning.domain.licenses import LicenseAssignment
from services.provisioning.domain.operations import Outcome
from shared.service_layer import Command


class ProvisionPurchase(Command):
    """A partner bought a line item: create its SaaS subscription and activation link.

    Field names are the subscription's own, so the aggregate is made of them by name.
    """

    subscription_id: str
    publisher_id: str
    offer_id: str
    offer_name: str
    plan_id: str
    plan_name: str
    quantity: int
    term_duration: str
    billing_cycle: str
    currency: str
    price_per_seat_minor: int  # minor units of `currency`, per billing period
    friendly_name: str
    csp_partner_id: str
    customer_id: str
    customer_name: str
    purchased_by: str
    order_id: str
    line_item_number: int
    reseller_mpn_id: str | None
    auto_renew: bool
    purchased_at: datetime
    refundable_until: datetime
    correlation_id: str  # the purchase's: every event of this subscription carries it


class AssignLicenses(Command):
    """Replace the whole license set of a publisher's subscription."""

    subscription_id: str
    publisher_id: str
    assignments: tuple[LicenseAssignment, ...]


class ConfirmActivation(Command):
    """The publisher's `activate`: the plan and quantity it provisioned."""

    subscription_id: str
    publisher_id: str
    plan_id: str
    quantity: int


class ChangeByPublisher(Command):
    """The publisher's PATCH or DELETE of a subscription (CSP purchases refuse both)."""

    subscription_id: str
    publisher_id: str


# The partner's requests after purchase (ordering.subscriptions), each carrying the id
# of the operation it becomes (docs/subscription-lifecycle.md, "Events").


class PartnerRequest(Command):
    """What every request of the partner carries: the operation id it becomes."""

    subscription_id: str
    operation_id: str


class ChangeDetails(PartnerRequest):
    """Nickname, indirect reseller and auto-renew as they now stand: no publisher step."""

    friendly_name: str
    reseller_mpn_id: str | None
    auto_renew: bool


class RequestQuantityChange(PartnerRequest):
    quantity: int


class Suspend(PartnerRequest):
    pass


class Reinstate(PartnerRequest):
    pass


class Cancel(PartnerRequest):
    immediate: bool  # else scheduled: ends at term end


# The publisher's answer to a seat change (PATCH .../operations/{operationId}).


class AnswerOperation(Command):
    subscription_id: str
    publisher_id: str
    operation_id: str
    success: bool
    plan_id: str | None = None  # optional in the body: must match the operation's
    quantity: int | None = None


# Due work (service_layer/due_work.py): each commits what one due item came to.


class RecordDelivery(Command):
    """Attempt number `attempt` of an operation's webhook came to `outcome`."""

    operation_id: str
    attempt: int
    outcome: Outcome
    detail: str


class AcceptSilentChange(Command):
    """A seat change nobody answered by its acceptance deadline."""

    operation_id: str


class EndTerms(Command):
    """Renew or expire every term of the subscription that has ended by now."""

    subscription_id: str
