"""`python -m services.ordering`: serve the partner API on CSP_ORDERING_PORT."""

from __future__ import annotations

from services.ordering.bootstrap import build_app
from shared.http.app import serve
from shared.logging import configure_logging
from shared.settings import load_settings


def main() -> None:
    settings = load_settings()
    configure_logging("ordering", settings.csp_log_level)
    serve(build_app(settings), settings.csp_host, settings.csp_ordering_port)


if __name__ == "__main__":
    main()
