"""What a caller asks of ordering: commands, imperative, plain data.

The partner API builds the first four; the subscription view's consumer builds the
others from provisioning's events (fields named as in those events, so
`shared.messaging.mapping.command_from` carries them over by name).
"""

from __future__ import annotations

from datetime import datetime

from services.ordering.domain.cart_rules import LineItemDraft
from services.ordering.domain.subscription_changes import SubscriptionChanges
from shared.service_layer import Command


class CreateCustomer(Command):
    csp_partner_id: str
    company_name: str
    domain: str | None = None


class CreateCart(Command):
    csp_partner_id: str
    customer_id: str
    line_items: tuple[LineItemDraft, ...]


class Checkout(Command):
    csp_partner_id: str  # the buyer's partner (token claim `partnerId`)
    user_id: str  # the buyer (token `sub`)
    customer_id: str
    cart_id: str


class ChangeSubscription(Command):
    """The partner's PATCH of one subscription."""

    csp_partner_id: str
    user_id: str  # the partner user asking (token `sub`)
    customer_id: str
    subscription_id: str
    changes: SubscriptionChanges


class UpdateView(Command):
    """A fact provisioning published about one subscription, for the partner's view."""

    subscription_id: str


class RecordActivationLink(UpdateView):
    link: str


class RecordLicenses(UpdateView):
    assigned_count: int


class RecordActivation(UpdateView):
    term_start: datetime
    term_end: datetime  # exclusive: the term is [term_start, term_end)
    licenses_assigned: int


class RecordQuantityAccepted(UpdateView):
    operation_id: str
    quantity: int  # the new seat count
    accepted_at: datetime


class RecordQuantityRejected(UpdateView):
    operation_id: str
    quantity: int  # the seats that were asked for
    rejected_at: datetime
    reason: str


class RecordRenewal(UpdateView):
    term_end: datetime  # exclusive: the new term is [term_start, term_end)


class RecordEnd(UpdateView):
    """Cancelled (inside the window) or expired at term end: the subscription is over."""


class RecordCancellationScheduled(UpdateView):
    operation_id: str
