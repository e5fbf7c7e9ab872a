"""Load the catalog: `CSP_CATALOG` if set, else the default shipped beside this file."""

from __future__ import annotations

from pathlib import Path

from shared.catalog.model import Catalog, Offer, Plan, Price, Publisher

DEFAULT_CATALOG = Path(__file__).with_name("default.json")


def load_catalog(path: Path | None = None) -> Catalog:
    return Catalog.model_validate_json((path or DEFAULT_CATALOG).read_bytes())


__all__ = ["DEFAULT_CATALOG", "Catalog", "Offer", "Plan", "Price", "Publisher", "load_catalog"]
