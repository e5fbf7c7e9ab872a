"""Billing against the real broker."""
