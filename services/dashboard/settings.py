"""What the dashboard reads from the environment: the common settings, its port, the
operator credential, and how long a subscription may sit in one stage before it
counts as stuck.

The dashboard verifies no partner or publisher tokens, so production asks nothing of
the OIDC issuer here; it asks for its own credential instead: without
CSP_DASHBOARD_TOKEN (at least 32 bytes) it refuses to start.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from shared.settings import MIN_SECRET_BYTES, InsecureConfiguration, ServiceSettings

OPERATOR = "operator"  # the user name HTTP basic asks for, beside the token as password


class DashboardSettings(ServiceSettings):
    SERVICE: ClassVar[str] = "dashboard"

    csp_dashboard_port: int = 8000
    # The operator credential: the bearer token, or the password of HTTP basic (user
    # CSP_DASHBOARD_USER). Unset in development: the dashboard is open (on 127.0.0.1).
    csp_dashboard_token: SecretStr | None = None
    csp_dashboard_user: str = Field(default=OPERATOR, min_length=1, max_length=64)
    # A subscription that has sat in one funnel stage (before "charged") this long is stuck.
    csp_dashboard_stuck_seconds: float = Field(default=300.0, gt=0)
    # How often the page's live stream and the consumer lag are refreshed.
    csp_dashboard_refresh_seconds: float = Field(default=1.0, gt=0, le=60)

    @property
    def port(self) -> int:
        return self.csp_dashboard_port

    @property
    def token(self) -> str | None:
        """The credential, None when unset or empty."""
        value = self.csp_dashboard_token.get_secret_value() if self.csp_dashboard_token else ""
        return value or None

    def refuse_insecure(self) -> None:
        """Not the issuer's settings (no token of theirs is read here): the operator's."""
        if self.token is None:
            raise InsecureConfiguration(
                "CSP_DASHBOARD_TOKEN is unset: production asks operators for a credential"
            )
        if len(self.token.encode()) < MIN_SECRET_BYTES:
            raise InsecureConfiguration(
                f"CSP_DASHBOARD_TOKEN must be at least {MIN_SECRET_BYTES} bytes"
            )
