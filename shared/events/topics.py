"""One topic per producing service and aggregate; key = subscription id keeps order."""

ORDERING_SUBSCRIPTIONS = "ordering.subscriptions"
PROVISIONING_SUBSCRIPTIONS = "provisioning.subscriptions"
BILLING_LEDGER = "billing.ledger"


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"
