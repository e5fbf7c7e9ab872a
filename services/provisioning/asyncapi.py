"""The AsyncAPI document of provisioning (what it consumes and publishes). No I/O."""

from __future__ import annotations

from faststream.specification import AsyncAPI

from services.provisioning.bootstrap import SERVICE, build_app
from shared.settings import Settings


def asyncapi() -> AsyncAPI:
    runtime = build_app(Settings()).state.runtime
    return AsyncAPI(
        runtime.broker,
        title=SERVICE,
        version="0.1.0",
        description=(
            "Provisioning consumes SubscriptionPurchased from ordering.subscriptions and "
            "publishes ActivationLinkIssued, LicensesAssigned and ActivationCompleted on "
            "provisioning.subscriptions (key = subscription id)."
        ),
    )
