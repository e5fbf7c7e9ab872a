"""Billing's outbound adapters: repositories over its store, its wire event mapping."""
