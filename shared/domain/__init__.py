"""Building blocks every service's domain uses: aggregates that record domain events."""

from shared.domain.aggregate import Aggregate, DomainEvent

__all__ = ["Aggregate", "DomainEvent"]
