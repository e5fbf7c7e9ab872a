"""The compacted `subscriptions.state` topic: each subscription's latest state, as the
partner and the publisher see it, so a newcomer (a service, the dashboard) builds its
view from one topic instead of replaying every event.

Each part has one owner, which writes it whenever its aggregate changed, in the same
transaction as the change (through the outbox, like any event): ordering the partner's
part (the subscription as the partner API shows it), provisioning the publisher's (as
the SaaS Fulfillment API shows it). Kafka compacts per key, and two owners write about
one subscription, so the key is `<subscription id>/<part>`: compaction keeps the latest
of each part. A reader keeps the last value per key (the embedded broker never
compacts) and joins the parts on `subject`, the subscription id.
"""

from __future__ import annotations

from typing import Any, Literal

from shared.events.envelope import CamelModel, Event
from shared.events.topics import SUBSCRIPTIONS_STATE

StatePart = Literal["partner", "publisher"]


class SubscriptionStateData(CamelModel):
    part: StatePart  # whose view: the partner's (ordering) or the publisher's (provisioning)
    state: dict[str, Any]  # that view, as its API shows it


class SubscriptionStateChanged(Event):
    TOPIC = SUBSCRIPTIONS_STATE
    type: Literal["SubscriptionStateChanged"] = "SubscriptionStateChanged"
    data: SubscriptionStateData

    def key(self) -> str:
        return state_key(self.subject, self.data.part)


def state_key(subscription_id: str, part: str) -> str:
    return f"{subscription_id}/{part}"
