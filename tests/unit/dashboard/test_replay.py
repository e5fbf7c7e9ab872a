"""`POST /api/dead-letters/replay`: chosen dead letters, named by the list's `id`, go
back to their original topic with their original value, key and headers (no `x-dlq-*`);
unknown or malformed ids and bad bodies are a 4xx with nothing published; the operator
credential is asked for; the app's producer stops with the app."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.dashboard.app import build_app
from services.dashboard.replay import Published
from services.dashboard.settings import DashboardSettings
from services.dashboard.view import PipelineView, ViewLimits
from shared.errors import Unavailable
from shared.events.topics import BILLING_LEDGER, PROVISIONING_SUBSCRIPTIONS
from shared.messaging.dead_letters import dead_letter_headers
from shared.messaging.embedded_broker import free_port
from tests.unit.dashboard.builders import T0_MS, Topics, envelope
from tests.unit.dashboard.feeds import FixedFeed

DLQ = f"{PROVISIONING_SUBSCRIPTIONS}.dlq"
TOKEN = "a-real-operator-credential-of-40-bytes!!"


class FakePublisher:
    """Takes what a replay publishes; fails from the `fail_at`-th record on."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.sent: list[tuple[str, bytes, bytes | None, list[tuple[str, bytes]]]] = []
        self.fail_at = fail_at
        self.stopped = False

    async def publish(
        self, topic: str, value: bytes, key: bytes | None, headers: list[tuple[str, bytes]]
    ) -> Published:
        if self.fail_at is not None and len(self.sent) + 1 >= self.fail_at:
            raise Unavailable("the broker at test did not take the record (down)")
        self.sent.append((topic, value, key, headers))
        return Published(partition=1, offset=100 + len(self.sent))

    async def stop(self) -> None:
        self.stopped = True


def settings(**values: object) -> DashboardSettings:
    return DashboardSettings(_env_file=None, csp_env="development", **values)  # type: ignore[call-arg]


def dead_letter(
    topics: Topics, subject: str, *, consumer: str = "billing.activations", value: bytes = b""
) -> str:
    """A dead letter of `subject`'s event as a consumer writes it; its id."""
    payload = value or envelope("ActivationCompleted", subject).to_bytes()
    headers = dead_letter_headers(
        {"ce-type": "ActivationCompleted", "traceparent": "00-abc-def-01"},
        ValueError("cannot read it yet"),
        topic=PROVISIONING_SUBSCRIPTIONS,
        consumer=consumer,
        partition=0,
        offset=3,
    )
    record = topics.append(DLQ, payload, key=subject.encode(), headers=headers)
    return f"{record.topic}:{record.partition}:{record.offset}"


@pytest.fixture
def topics() -> Topics:
    return Topics()


@pytest.fixture
def publisher() -> FakePublisher:
    return FakePublisher()


@pytest.fixture
def client(topics: Topics, publisher: FakePublisher) -> Iterator[TestClient]:
    app = build_app(settings(), view=topics.view, feed=FixedFeed(), publisher=publisher)
    with TestClient(app) as test_client:
        yield test_client
    assert publisher.stopped  # the producer is the app's: it stops with it


def test_the_list_names_each_dead_letter_by_the_id_a_replay_takes(
    client: TestClient, topics: Topics
) -> None:
    ident = dead_letter(topics, "s1")

    [item] = client.get("/api/dead-letters").json()["items"]

    assert item["id"] == ident == f"{DLQ}:0:0"
    assert (item["topic"], item["partition"], item["offset"]) == (DLQ, 0, 0)


def test_chosen_dead_letters_go_back_with_their_value_key_and_headers(
    client: TestClient, topics: Topics, publisher: FakePublisher
) -> None:
    first, second = dead_letter(topics, "s1"), dead_letter(topics, "s2")
    dead_letter(topics, "s3")  # not chosen

    answer = client.post("/api/dead-letters/replay", json={"ids": [second, first, second]})

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [r["id"] for r in body["replayed"]] == [second, first]  # as named, each once
    assert body["skipped"] == []
    went = body["replayed"][0]
    assert went["originalTopic"] == PROVISIONING_SUBSCRIPTIONS
    assert (went["key"], went["subject"], went["type"]) == ("s2", "s2", "ActivationCompleted")
    assert (went["partition"], went["offset"]) == (1, 101)  # where it landed
    topic, value, key, headers = publisher.sent[0]
    assert (topic, key) == (PROVISIONING_SUBSCRIPTIONS, b"s2")
    assert value == topics.records[1].value
    assert dict(headers) == {"ce-type": b"ActivationCompleted", "traceparent": b"00-abc-def-01"}
    assert len(publisher.sent) == 2


def test_the_same_event_dead_lettered_by_two_groups_goes_back_once(
    client: TestClient, topics: Topics, publisher: FakePublisher
) -> None:
    value = envelope("ActivationCompleted", "s1").to_bytes()
    one = dead_letter(topics, "s1", consumer="billing.activations", value=value)
    two = dead_letter(topics, "s1", consumer="ordering.activations", value=value)

    body = client.post("/api/dead-letters/replay", json={"ids": [one, two]}).json()

    assert [r["id"] for r in body["replayed"]] == [one]
    assert body["skipped"] == [{"id": two, "sameEventAs": one}]
    assert len(publisher.sent) == 1


def test_a_dead_letter_that_is_not_json_goes_back_as_it_was(
    client: TestClient, topics: Topics, publisher: FakePublisher
) -> None:
    ident = dead_letter(topics, "s1", value=b"{not json")

    assert client.post("/api/dead-letters/replay", json={"ids": [ident]}).status_code == 200
    assert publisher.sent[0][1:3] == (b"{not json", b"s1")


@pytest.mark.parametrize(
    ("body", "status", "target"),
    [
        ({"ids": [f"{DLQ}:0:99"]}, 404, "ids"),  # not held
        ({"ids": ["nonsense"]}, 400, "ids[0]"),
        ({"ids": [f"{DLQ}:x:1"]}, 400, "ids[0]"),
        ({"ids": [f"{PROVISIONING_SUBSCRIPTIONS}:0:0"]}, 400, "ids[0]"),  # not a .dlq
        ({"ids": []}, 400, "ids"),
        ({"ids": ["a" * 500]}, 400, "ids[0]"),
        ({"ids": [f"{DLQ}:0:0"] * 101}, 400, "ids"),
        ({"ids": "one"}, 400, "ids"),
        ({"id": [f"{DLQ}:0:0"]}, 400, None),
        ([], 400, None),
    ],
)
def test_unknown_ids_and_bad_bodies_are_a_4xx_and_nothing_is_published(
    client: TestClient,
    topics: Topics,
    publisher: FakePublisher,
    body: object,
    status: int,
    target: str | None,
) -> None:
    known = dead_letter(topics, "s1")
    if isinstance(body, dict) and isinstance(body.get("ids"), list) and len(body["ids"]) == 1:
        body = {"ids": [known, *body["ids"]]}  # a known one first: still all or nothing
        target = target.replace("[0]", "[1]") if target else target

    answer = client.post("/api/dead-letters/replay", json=body)

    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["message"]
    if target is not None:
        assert error.get("target") == target
    assert publisher.sent == []


def test_a_body_that_is_not_json_is_a_400(client: TestClient, publisher: FakePublisher) -> None:
    answer = client.post(
        "/api/dead-letters/replay", content=b"ids=x", headers={"content-type": "text/plain"}
    )
    assert answer.status_code == 400
    assert publisher.sent == []


def test_a_dead_letter_dropped_from_the_window_is_a_404_that_says_so(
    publisher: FakePublisher,
) -> None:
    topics = Topics(PipelineView(limits=ViewLimits(max_dead_letters=2)))
    oldest = dead_letter(topics, "s1")
    dead_letter(topics, "s2")
    dead_letter(topics, "s3")
    app = build_app(settings(), view=topics.view, feed=FixedFeed(), publisher=publisher)
    with TestClient(app) as client:
        answer = client.post("/api/dead-letters/replay", json={"ids": [oldest]})

    assert answer.status_code == 404
    assert "1 older dead letters are no longer held" in answer.json()["error"]["message"]


def test_a_dead_letter_whose_payload_was_not_kept_is_a_409(publisher: FakePublisher) -> None:
    topics = Topics(PipelineView(limits=ViewLimits(max_payload_bytes=10)))
    ident = dead_letter(topics, "s1")
    app = build_app(settings(), view=topics.view, feed=FixedFeed(), publisher=publisher)
    with TestClient(app) as client:
        answer = client.post("/api/dead-letters/replay", json={"ids": [ident]})

    assert answer.status_code == 409
    assert "CSP_DASHBOARD_MAX_PAYLOAD_BYTES" in answer.json()["error"]["message"]
    assert publisher.sent == []


def test_a_broker_failing_midway_is_a_503_naming_what_went_before(topics: Topics) -> None:
    publisher = FakePublisher(fail_at=2)
    first, second = dead_letter(topics, "s1"), dead_letter(topics, "s2")
    app = build_app(settings(), view=topics.view, feed=FixedFeed(), publisher=publisher)
    with TestClient(app) as client:
        answer = client.post("/api/dead-letters/replay", json={"ids": [first, second]})

    assert answer.status_code == 503
    body = answer.json()
    assert "1 replayed before it" in body["error"]["message"]
    assert [r["id"] for r in body["replayed"]] == [first]


def test_replay_asks_for_the_operator_credential(topics: Topics) -> None:
    publisher = FakePublisher()
    ident = dead_letter(topics, "s1")
    app = build_app(
        settings(csp_dashboard_token=TOKEN), view=topics.view, feed=FixedFeed(), publisher=publisher
    )
    with TestClient(app) as client:
        refused = client.post("/api/dead-letters/replay", json={"ids": [ident]})
        wrong = client.post(
            "/api/dead-letters/replay",
            json={"ids": [ident]},
            headers={"Authorization": "Bearer not-it"},
        )
        assert publisher.sent == []
        taken = client.post(
            "/api/dead-letters/replay",
            json={"ids": [ident]},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )

    assert (refused.status_code, wrong.status_code, taken.status_code) == (401, 401, 200)
    assert len(publisher.sent) == 1


def test_the_list_filters_by_the_service_that_dead_lettered(
    client: TestClient, topics: Topics
) -> None:
    dead_letter(topics, "s1", consumer="billing.activations")
    dead_letter(topics, "s2", consumer="ordering.activations")
    topics.dead_letter(
        BILLING_LEDGER, b"x", ValueError("bad"), consumer="billing.ledger", at_ms=T0_MS
    )

    listed = client.get("/api/dead-letters", params={"service": "billing"}).json()

    assert sorted(i["subject"] for i in listed["items"]) == ["", "s1"]


def test_a_broker_out_of_reach_is_a_503_not_a_500(topics: Topics) -> None:
    ident = dead_letter(topics, "s1")
    app = build_app(
        settings(kafka_bootstrap_servers=f"127.0.0.1:{free_port()}"),
        view=topics.view,
        feed=FixedFeed(),
    )
    with TestClient(app) as client:
        answer = client.post("/api/dead-letters/replay", json={"ids": [ident]})

    assert answer.status_code == 503
    body = answer.json()
    assert "did not take the record" in body["error"]["message"]
    assert body["replayed"] == []
