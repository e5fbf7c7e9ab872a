"""The filters each service's repositories send, so MongoDB has an index for each.

`Repository._find`/`_find_page` filter by equality on top-level fields, `_find_due`
ranges over one (a due time); SQLite walks
its `(collection, seq)` index and checks the JSON, but on MongoDB a filter without an
index is a collection scan. `make_store` hands a service's shapes to `MongoStore`, which
creates `(d.<field>..., seq)` for each at `open()`, idempotently: the filter, the page's
range and its insertion order all come from the one index.

Keep this in step with `services/*/adapters/repositories.py` (collection names are the
aggregates' `COLLECTION`): tests/unit/test_mongodb_query_indexes.py reads every finder
there and fails on a shape missing here, and the store logs `mongodb_query_not_indexed`
once for a shape it meets that nobody declared.
"""

from __future__ import annotations

from shared.store.mongodb_layout import QueryIndex


def _shapes(collection: str, *shapes: tuple[str, ...]) -> tuple[QueryIndex, ...]:
    return tuple(QueryIndex(collection, fields) for fields in shapes)


# The due times `_find_due` ranges over (collection, field): each also a shape below.
SERVICE_DUE_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "provisioning": (("saas_subscriptions", "term_ends_at"),),
    "billing": (("subscriptions", "charge_due_at"),),
}

SERVICE_QUERY_INDEXES: dict[str, tuple[QueryIndex, ...]] = {
    "ordering": (
        *_shapes("customers", ("csp_partner_id",)),
        *_shapes("orders", ("customer_id",)),
        *_shapes("subscriptions", ("customer_id",), ("customer_id", "status")),
    ),
    "provisioning": (
        *_shapes("saas_subscriptions", ("publisher_id",), ("term_ends_at",)),
        *_shapes(
            "operations",
            ("subscription_id",),
            ("subscription_id", "status"),
            ("status",),
            ("delivery_state",),
        ),
    ),
    "billing": (
        *_shapes("subscriptions", ("charge_due_at",)),
        *_shapes("ledger", ("subscription_id",)),
        *_shapes("invoices", ("csp_partner_id",), ("csp_partner_id", "customer_id")),
    ),
}


def query_indexes(service: str) -> tuple[QueryIndex, ...]:
    return SERVICE_QUERY_INDEXES.get(service, ())
