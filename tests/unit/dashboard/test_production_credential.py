"""Production: no start without an operator credential, and then every request asks for
it (HTTP basic for a browser, or a bearer token); development is open."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.dashboard.app import build_app
from services.dashboard.settings import DashboardSettings
from shared.settings import InsecureConfiguration
from tests.unit.dashboard.builders import Topics
from tests.unit.dashboard.feeds import FixedFeed

REPO = Path(__file__).resolve().parents[3]
TOKEN = "a-real-operator-credential-of-40-bytes!!"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("CSP_", "KAFKA_")):
            monkeypatch.delenv(name)


def basic(user: str, password: str) -> dict[str, str]:
    pair = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


def test_production_refuses_to_start_without_a_credential_or_with_a_short_one() -> None:
    with pytest.raises(InsecureConfiguration, match="CSP_DASHBOARD_TOKEN is unset"):
        DashboardSettings(csp_env="production")
    with pytest.raises(InsecureConfiguration, match="CSP_DASHBOARD_TOKEN is unset"):
        DashboardSettings(csp_env="production", csp_dashboard_token="")
    with pytest.raises(InsecureConfiguration, match="at least 32 bytes"):
        DashboardSettings(csp_env="production", csp_dashboard_token="short")
    settings = DashboardSettings(csp_env="production", csp_dashboard_token=TOKEN)
    assert settings.token == TOKEN  # and nothing of the OIDC issuer: it reads no JWTs


def test_the_process_exits_with_one_clear_line_before_serving_anything() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CSP_", "KAFKA_"))}
    started = subprocess.run(
        [sys.executable, "-m", "services.dashboard"],
        cwd=REPO,
        env={**env, "CSP_ENV": "production", "CSP_DASHBOARD_PORT": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode != 0
    assert started.stderr.strip().splitlines()[-1] == (
        "configuration refused: CSP_DASHBOARD_TOKEN is unset: production asks operators "
        "for a credential"
    )


@pytest.fixture
def guarded() -> TestClient:
    settings = DashboardSettings(csp_env="production", csp_dashboard_token=TOKEN)
    topics = Topics()
    topics.flow("s1", 2)
    return TestClient(build_app(settings, view=topics.view, feed=FixedFeed()))


@pytest.mark.parametrize(
    "path", ["/", "/subscriptions/s1", "/api/overview", "/api/stream", "/metrics"]
)
def test_without_the_credential_every_page_and_api_asks_for_it(
    guarded: TestClient, path: str
) -> None:
    answer = guarded.get(path)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith('Basic realm="CSP dashboard"')
    error = answer.json()["error"]
    assert error["code"] == "Unauthorized" and "operator credential" in error["message"]


def test_http_basic_with_the_token_as_password_or_the_bearer_token_opens_it(
    guarded: TestClient,
) -> None:
    assert guarded.get("/", headers=basic("operator", TOKEN)).status_code == 200
    timeline = guarded.get(
        "/api/subscriptions/s1/timeline", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert timeline.status_code == 200 and len(timeline.json()["events"]) == 2


@pytest.mark.parametrize(
    "headers",
    [
        basic("operator", TOKEN + "x"),
        basic("admin", TOKEN),
        {"Authorization": "Basic !!!not-base64"},
        {"Authorization": f"Bearer {TOKEN[:-1]}"},
        {"Authorization": f"Token {TOKEN}"},
    ],
)
def test_a_wrong_credential_is_refused(guarded: TestClient, headers: dict[str, str]) -> None:
    answer = guarded.get("/api/overview", headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "Unauthorized"


def test_the_health_probes_stay_open(guarded: TestClient) -> None:
    with guarded:
        assert guarded.get("/healthz").status_code == 200
        assert guarded.get("/readyz").status_code == 200


def test_development_without_a_token_is_open() -> None:
    settings = DashboardSettings()
    assert (settings.is_production, settings.token, settings.csp_host) == (
        False,
        None,
        "127.0.0.1",
    )
    topics = Topics()
    topics.flow("s1", 1)
    client = TestClient(build_app(settings, view=topics.view, feed=FixedFeed()))
    assert client.get("/api/subscriptions/s1/timeline").status_code == 200
