"""Lookup failures of the use cases; the HTTP layer maps them to 404 / 403 / 400."""

from __future__ import annotations


class SubscriptionNotFound(Exception):
    def __init__(self, subscription_id: str) -> None:
        super().__init__(f"subscription {subscription_id} not found")
        self.subscription_id = subscription_id


class NotYourSubscription(Exception):
    """Another publisher's subscription (the fulfillment API answers 403, as Microsoft's)."""

    def __init__(self, subscription_id: str) -> None:
        super().__init__(f"subscription {subscription_id} belongs to another publisher")
        self.subscription_id = subscription_id
