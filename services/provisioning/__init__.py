"""Provisioning: the publisher side of CSP marketplace purchases (SaaS Fulfillment API v2)."""
