"""`python -m services.billing`: serve the billing API and consumers on its port."""

from __future__ import annotations

from services.billing.bootstrap import SERVICE, build_app
from shared.http.app import serve
from shared.logging import configure_logging
from shared.settings import load_settings


def main() -> None:
    settings = load_settings()
    configure_logging(SERVICE, settings.csp_log_level)
    serve(build_app(settings), settings.csp_host, settings.csp_billing_port)


if __name__ == "__main__":
    main()
