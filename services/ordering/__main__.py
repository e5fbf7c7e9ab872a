"""`python -m services.ordering`: serve the partner API on CSP_ORDERING_PORT."""

from __future__ import annotations

from services.ordering.bootstrap import build_app
from services.ordering.settings import OrderingSettings
from shared.http.app import serve
from shared.logging import configure_logging


def main() -> None:
    settings = OrderingSettings.load()
    configure_logging("ordering", settings.csp_log_level)
    serve(build_app(settings), settings.csp_host, settings.port)


if __name__ == "__main__":
    main()
