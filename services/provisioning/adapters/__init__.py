"""Outbound adapters: the subscription repository, the wire mapping, the token signer."""
