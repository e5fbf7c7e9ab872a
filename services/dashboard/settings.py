"""What the dashboard reads from the environment: the common settings, its port, the
operator credential, how long a subscription may sit in one stage before it counts as
stuck, and the bounds of what it holds in memory (docs/dashboard.md, "Memory").

The dashboard verifies no partner or publisher tokens, so production asks nothing of
the OIDC issuer here; it asks for its own credential instead: without
CSP_DASHBOARD_TOKEN (at least 32 bytes) it refuses to start.
"""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import Field, SecretStr, model_validator

from services.dashboard.view import ViewLimits
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
    # What is held in memory, so that it stays flat however long the dashboard runs.
    # Past a bound the least recently touched subscription is evicted (stuck ones last);
    # the funnel's counts keep it. Costs per item in docs/dashboard.md.
    csp_dashboard_max_subscriptions: int = Field(default=50_000, ge=1, le=10_000_000)
    csp_dashboard_max_events: int = Field(default=300_000, ge=1, le=100_000_000)
    csp_dashboard_max_events_per_subscription: int = Field(default=100, ge=1, le=100_000)
    # Ids of evicted subscriptions remembered (with their funnel standing): a late event
    # of one is neither counted twice in the funnel nor its timeline called unknown.
    csp_dashboard_max_evicted_ids: int = Field(default=250_000, ge=0, le=100_000_000)
    csp_dashboard_max_dead_letters: int = Field(default=1_000, ge=1, le=1_000_000)
    # A record larger than this keeps no payload in memory (a note of its size instead).
    csp_dashboard_max_payload_bytes: int = Field(default=65_536, ge=0, le=64 * 1024 * 1024)

    @model_validator(mode="after")
    def _events_hold_one_timeline(self) -> Self:
        if self.csp_dashboard_max_events < self.csp_dashboard_max_events_per_subscription:
            raise ValueError(
                "CSP_DASHBOARD_MAX_EVENTS must be at least CSP_DASHBOARD_MAX_EVENTS_PER_SUBSCRIPTION"
            )
        return self

    def limits(self) -> ViewLimits:
        return ViewLimits(
            max_subscriptions=self.csp_dashboard_max_subscriptions,
            max_events=self.csp_dashboard_max_events,
            max_events_per_subscription=self.csp_dashboard_max_events_per_subscription,
            max_evicted_ids=self.csp_dashboard_max_evicted_ids,
            max_dead_letters=self.csp_dashboard_max_dead_letters,
            max_payload_bytes=self.csp_dashboard_max_payload_bytes,
        )

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
