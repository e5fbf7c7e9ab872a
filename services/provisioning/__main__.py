"""`python -m services.provisioning`: serve the publisher API and run the consumers."""

from __future__ import annotations

from services.provisioning.bootstrap import SERVICE, build_app
from services.provisioning.settings import ProvisioningSettings
from shared.http.app import serve
from shared.logging import configure_logging


def main() -> None:
    settings = ProvisioningSettings.load()
    configure_logging(SERVICE, settings.csp_log_level)
    serve(build_app(settings), settings.csp_host, settings.port)


if __name__ == "__main__":
    main()
