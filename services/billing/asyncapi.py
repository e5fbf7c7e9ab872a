"""The billing service's AsyncAPI document (consumes provisioning, publishes the ledger)."""

from __future__ import annotations

from faststream.specification import AsyncAPI

from services.billing.bootstrap import SERVICE, build_app
from shared.settings import Settings


def asyncapi() -> AsyncAPI:
    runtime = build_app(Settings()).state.runtime
    return AsyncAPI(
        runtime.broker,
        title=SERVICE,
        version="0.1.0",
        description=(
            "Billing: consumes ActivationCompleted from provisioning.subscriptions "
            "(group billing.activations), posts the first period's charge and invoices "
            "it; publishes ChargePosted and InvoiceIssued on billing.ledger."
        ),
    )
