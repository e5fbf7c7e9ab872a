"""The topics the dashboard reads: the event topics, the compacted state topic, and
their dead-letter topics.

Adding a topic of events is one line in EVENT_TOPICS; its `.dlq` follows.
"""

from __future__ import annotations

import re

from shared.events.topics import (
    BILLING_LEDGER,
    ORDERING_SUBSCRIPTIONS,
    PROVISIONING_SUBSCRIPTIONS,
    SUBSCRIPTIONS_STATE,
    dead_letter_topic,
)

# In the order the flow crosses them (the page lists them so).
EVENT_TOPICS: tuple[str, ...] = (ORDERING_SUBSCRIPTIONS, PROVISIONING_SUBSCRIPTIONS, BILLING_LEDGER)
# Each subscription's latest state per part (shared.events.state): not facts of the
# timeline or the funnel, but the subscription as each side sees it now.
STATE_TOPICS: tuple[str, ...] = (SUBSCRIPTIONS_STATE,)
DEAD_LETTER_TOPICS: tuple[str, ...] = tuple(
    dead_letter_topic(t) for t in EVENT_TOPICS + STATE_TOPICS
)
WATCHED_TOPICS: tuple[str, ...] = EVENT_TOPICS + STATE_TOPICS + DEAD_LETTER_TOPICS

# The reader subscribes by pattern: a pattern asks the broker for every topic's metadata
# and so never creates a topic, where naming one (a dead-letter topic nobody wrote yet,
# or a topic before its service made it with its partition count) would.
WATCHED_PATTERN = "^(" + "|".join(re.escape(t) for t in WATCHED_TOPICS) + ")$"
