"""Billing use cases: each runs inside one unit of work and emits through the outbox."""
