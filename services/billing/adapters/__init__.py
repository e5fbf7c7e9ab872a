"""Typed repositories over the billing store collections."""
