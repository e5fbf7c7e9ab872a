"""What the measured flow buys: one catalog line, in carts of CART_LINES lines.

The load generator (`benchmarks.load`) and `make chaos` (tools.chaos_flow) buy the same.
"""

from __future__ import annotations

CART_LINES = 5
# contoso-crm / standard / P1M / monthly costs 10.00 USD per seat and month (default catalog)
LINE = {
    "offerId": "contoso-crm",
    "planId": "standard",
    "termDuration": "P1M",
    "billingCycle": "monthly",
}
PRICE_MINOR = 1000
PUBLISHER = "contoso"
