"""Ordering: the partner API (customers, carts, orders) and the partner's view of subscriptions."""
