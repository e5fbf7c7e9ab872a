"""The consumer groups whose lag the dashboard shows: each service's, from its own
definition (so a group a service adds shows without a change here).

Named, not listed by the broker: the embedded broker answers ListGroups with nothing
(docs/dashboard.md, "How it reads the broker"; tools/kafka_admin.py).
"""

from __future__ import annotations


def service_groups() -> dict[str, str]:
    """Consumer group -> the topic it reads."""
    from services.billing.bootstrap import DEFINITION as billing
    from services.ordering.bootstrap import DEFINITION as ordering
    from services.provisioning.bootstrap import DEFINITION as provisioning

    return {
        group.name: group.topic
        for definition in (ordering, provisioning, billing)
        for group in definition.consumers
    }
