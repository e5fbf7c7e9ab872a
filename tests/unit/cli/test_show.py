"""`csp show`: the subscription from ordering, its timeline from the ops dashboard
(`GET /api/subscriptions/{id}/timeline`), and a clear line, exit 0, without it."""

from __future__ import annotations

import json

from tests.unit.cli import samples as s
from tests.unit.cli.conftest import Csp
from tests.unit.cli.scripted_api import Answer, ScriptedApi, error

SUBSCRIPTION = f"/v1/customers/{s.CID}/subscriptions/{s.SID}"
TIMELINE = f"/api/subscriptions/{s.SID}/timeline"
EVENTS = [
    s.event(0, "SubscriptionPurchased", "2026-11-23T10:00:01Z", "ordering.subscriptions"),
    s.event(1, "ActivationLinkIssued", "2026-11-23T10:00:02Z", "provisioning.subscriptions"),
    s.event(2, "ActivationCompleted", "2026-11-23T10:05:00Z", "provisioning.subscriptions"),
    s.event(3, "ChargePosted", "2026-11-23T10:05:01Z", "billing.ledger"),
]


def test_the_subscription_and_its_timeline_in_the_dashboards_order(
    csp: Csp, ordering: ScriptedApi, dashboard: ScriptedApi
) -> None:
    ordering.on("GET", SUBSCRIPTION, s.active())
    dashboard.on("GET", TIMELINE, {"subscriptionId": s.SID, "events": EVENTS})

    result = csp("show", s.CID, s.SID)

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "active" in out
    assert s.LINK in out
    assert "2026-12-22" in out
    assert "Timeline (4 events, from the dashboard)" in out
    positions = [out.index(e["type"]) for e in EVENTS]
    assert positions == sorted(positions)
    charge = next(line for line in out.splitlines() if "ChargePosted" in line)
    assert "billing.ledger" in charge
    assert "0:3" in charge
    assert "2026-11-23 10:05:01" in charge
    assert "evt-3" in charge
    assert "corr-1" in charge
    assert dashboard.calls[0].authorization is None  # no partner token sent to the dashboard


def test_the_dashboard_credential_goes_to_the_dashboard_only(
    csp: Csp, ordering: ScriptedApi, dashboard: ScriptedApi
) -> None:
    ordering.on("GET", SUBSCRIPTION, s.active())
    dashboard.on("GET", TIMELINE, {"subscriptionId": s.SID, "events": EVENTS[:1]})

    result = csp("show", s.CID, s.SID, env={"CSP_DASHBOARD_TOKEN": "operator"})

    assert result.exit_code == 0, result.output
    assert [c.authorization for c in dashboard.calls] == ["Bearer operator"]
    assert [c.authorization for c in ordering.calls] == ["Bearer partner-token"]


def test_without_the_dashboard_the_subscription_and_why_no_timeline(
    csp: Csp, ordering: ScriptedApi, nothing_listens: str
) -> None:
    ordering.on("GET", SUBSCRIPTION, s.active())

    result = csp("show", s.CID, s.SID, env={"CSP_DASHBOARD_URL": nothing_listens})

    assert result.exit_code == 0, result.output
    assert s.SID in result.stdout
    line = next(line for line in result.stdout.splitlines() if "timeline" in line)
    assert line.startswith("no timeline: the timeline needs the ops dashboard")
    assert f"cannot reach the dashboard at {nothing_listens}" in line
    assert "--dashboard-url / CSP_DASHBOARD_URL" in line


def test_a_dashboard_that_knows_no_event_of_it_yet(
    csp: Csp, ordering: ScriptedApi, dashboard: ScriptedApi
) -> None:
    ordering.on("GET", SUBSCRIPTION, s.subscription())
    dashboard.on("GET", TIMELINE, error(404, "NotFound", "unknown subscription"))

    result = csp("show", s.CID, s.SID)

    assert result.exit_code == 0, result.output
    assert "timeline: the dashboard has seen no event of this subscription yet" in result.stdout


def test_a_timeline_older_than_the_dashboards_window_is_said_so(
    csp: Csp, ordering: ScriptedApi, dashboard: ScriptedApi
) -> None:
    ordering.on("GET", SUBSCRIPTION, s.active())
    evicted = "subscription s-1 is older than the dashboard's window and was evicted"
    answer = error(404, "NotFound", evicted, "subscriptionId")
    dashboard.on("GET", TIMELINE, Answer(404, {**answer.body, "evicted": True, "window": {}}))

    result = csp("show", s.CID, s.SID)

    assert result.exit_code == 0, result.output
    line = next(line for line in result.stdout.splitlines() if line.startswith("no timeline"))
    assert "older than the dashboard's window" in line
    assert "has seen no event" not in result.stdout


def test_a_dashboard_error_is_reported_and_show_still_succeeds(
    csp: Csp, ordering: ScriptedApi, dashboard: ScriptedApi
) -> None:
    ordering.on("GET", SUBSCRIPTION, s.active())
    dashboard.on("GET", TIMELINE, error(401, "Unauthorized", "operator credential required"))

    result = csp("show", s.CID, s.SID)

    assert result.exit_code == 0, result.output
    assert "the dashboard answered 401 Unauthorized: operator credential required" in (
        result.stdout
    )


def test_a_body_without_events_is_no_timeline(
    csp: Csp, ordering: ScriptedApi, dashboard: ScriptedApi
) -> None:
    ordering.on("GET", SUBSCRIPTION, s.active())
    dashboard.on("GET", TIMELINE, Answer(200, {"subscriptionId": s.SID}))

    result = csp("show", s.CID, s.SID)

    assert result.exit_code == 0, result.output
    assert "answered no timeline (no `events` list)" in result.stdout


def test_json_carries_both_and_says_when_the_timeline_is_missing(
    csp: Csp, ordering: ScriptedApi, dashboard: ScriptedApi, nothing_listens: str
) -> None:
    ordering.on("GET", SUBSCRIPTION, s.active())
    dashboard.on("GET", TIMELINE, {"subscriptionId": s.SID, "events": EVENTS})

    found = json.loads(csp("show", s.CID, s.SID, "--json").stdout)
    missing = json.loads(
        csp("show", s.CID, s.SID, "--json", env={"CSP_DASHBOARD_URL": nothing_listens}).stdout
    )

    assert found == {"subscription": s.active(), "timeline": EVENTS, "timelineUnavailable": None}
    assert missing["subscription"] == s.active()
    assert missing["timeline"] is None
    assert "the timeline needs the ops dashboard" in missing["timelineUnavailable"]


def test_an_unknown_subscription_is_ordering_s_404(csp: Csp, ordering: ScriptedApi) -> None:
    ordering.on("GET", SUBSCRIPTION, error(404, "NotFound", f"subscription {s.SID} not found"))

    result = csp("show", s.CID, s.SID)

    assert result.exit_code == 1
    assert f"ordering answered 404 NotFound: subscription {s.SID} not found" in result.stderr
