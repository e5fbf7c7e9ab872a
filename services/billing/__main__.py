"""`python -m services.billing`: serve the billing API and consumers on its port."""

from __future__ import annotations

from services.billing.bootstrap import SERVICE, build_app
from services.billing.settings import BillingSettings
from shared.http.app import serve
from shared.logging import configure_logging


def main() -> None:
    settings = BillingSettings.load()
    configure_logging(SERVICE, settings.csp_log_level)
    serve(build_app(settings), settings.csp_host, settings.port)


if __name__ == "__main__":
    main()
