"""Billing service tests without I/O."""
