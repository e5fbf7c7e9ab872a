"""One topic per producing service and aggregate; key = subscription id keeps order.

Each topic has a dead-letter topic, `<topic>.dlq`, for the events a consumer of it can
never decode (`shared.messaging.consumer`); `python -m tools.dead_letters` lists and
replays them.
"""

ORDERING_SUBSCRIPTIONS = "ordering.subscriptions"
PROVISIONING_SUBSCRIPTIONS = "provisioning.subscriptions"
BILLING_LEDGER = "billing.ledger"
# The latest state of each subscription, compacted (shared.events.state).
SUBSCRIPTIONS_STATE = "subscriptions.state"
COMPACTED_TOPICS = frozenset({SUBSCRIPTIONS_STATE})

DEAD_LETTER_SUFFIX = ".dlq"


def dead_letter_topic(topic: str) -> str:
    return f"{topic}{DEAD_LETTER_SUFFIX}"


def is_dead_letter_topic(topic: str) -> bool:
    return topic.endswith(DEAD_LETTER_SUFFIX)


def original_topic(dead_letter: str) -> str:
    """`ordering.subscriptions.dlq` -> `ordering.subscriptions`."""
    if not is_dead_letter_topic(dead_letter):
        raise ValueError(f"{dead_letter!r} is not a dead-letter topic")
    return dead_letter.removesuffix(DEAD_LETTER_SUFFIX)
