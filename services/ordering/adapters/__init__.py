"""Outbound adapters: repositories over the store and the event mapping to the wire."""
