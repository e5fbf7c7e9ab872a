"""`python -m services.dashboard`: serve the pipeline dashboard on its port."""

from __future__ import annotations

from services.dashboard.app import build_app
from services.dashboard.settings import DashboardSettings
from shared.http.app import serve
from shared.logging import configure_logging


def main() -> None:
    settings = DashboardSettings.load()  # production without a credential: exits here
    configure_logging(settings.SERVICE, settings.csp_log_level)
    serve(build_app(settings), settings.csp_host, settings.port)


if __name__ == "__main__":
    main()
