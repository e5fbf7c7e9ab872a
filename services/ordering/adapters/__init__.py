"""Typed repositories over the store's document collections."""
