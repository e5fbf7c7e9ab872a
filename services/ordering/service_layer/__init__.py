"""Use cases: each runs in one unit of work and emits events through the outbox."""
