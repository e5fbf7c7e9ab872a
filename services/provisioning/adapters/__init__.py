"""Outbound adapters: the subscription repository and the purchase-token signer."""
