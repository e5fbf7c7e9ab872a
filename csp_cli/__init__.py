"""`csp`: the command line of CSP Marketplace for partners and operators.

It speaks only the services' public interfaces: the partner API (ordering), billing's
invoices, the ops dashboard's timeline, and the broker's dead-letter topics
(`shared.messaging.dead_letters`). See docs/cli.md.
"""
