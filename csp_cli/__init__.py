"""`csp`: the command line of CSP Marketplace for partners and operators.

It speaks only the services' public interfaces: the partner API (ordering), billing's
invoices, and the ops dashboard's timelines and dead letters (listed, and replayed
through its API). See docs/cli.md.
"""
