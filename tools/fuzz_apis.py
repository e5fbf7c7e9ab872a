"""`make fuzz`: schemathesis against every API on a running system.

Four targets: each service's own OpenAPI (`/openapi.json`: ordering, provisioning,
billing) and the publisher API once more through Microsoft's own document of it,
`../shared/specs/saasapi.v2.json` beside the repository (base URL provisioning's `/api`;
skipped, saying so, where the file is absent). All of schemathesis's phases run
(examples, coverage of boundaries, fuzzing; positive and negative data) with a valid
token; the test clock is on so its routes are fuzzed too. Before that a partner buys
one subscription and the publisher activates it (`seed`); half the generated path ids
are then that purchase's (customer, cart, order, subscription, its seat-change
operation, its invoice), so the operations are reached past their 404s.

Passes when, for every target: no response is a 5xx, and every 4xx says what was wrong
(the shared error shape with a non-empty `error.message`). Prints, per target, the
number of requests sent, how many were 5xx, how many 4xx lacked a message, and the
time taken. Bounded (`--max-examples` per operation, loopback only); not part of
`make test`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tools.readme_figures import write_between

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO.parent / "shared" / "specs" / "saasapi.v2.json"
RECORD_ENV = "CSP_FUZZ_RECORD"  # where the check below writes one line per response


# --- the check schemathesis runs on every response (loaded as SCHEMATHESIS_HOOKS)


def says_what_was_wrong(body: Any) -> bool:
    """The shared error shape with a non-empty message."""
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return isinstance(message, str) and bool(message.strip())


def _register_check() -> None:
    import schemathesis

    @schemathesis.check
    def error_body_says_what_was_wrong(ctx: Any, response: Any, case: Any) -> bool | None:
        status = response.status_code
        ok = True
        if 400 <= status < 500:
            try:
                ok = says_what_was_wrong(json.loads(response.content or b"null"))
            except ValueError:
                ok = False
        record = os.environ.get(RECORD_ENV)
        if record:
            with open(record, "a", encoding="utf-8") as out:
                out.write(f"{status} {'ok' if ok else 'silent'}\n")
        if not ok:
            raise AssertionError(f"a {status} whose body does not say what was wrong")
        return None


if os.environ.get("SCHEMATHESIS_HOOKS") == __name__:
    _register_check()


# --- the run


@dataclass
class Target:
    name: str
    schema: str  # URL or file
    base_url: str | None  # for a schema file: where its operations are served
    token: str


@dataclass
class Outcome:
    target: str
    requests: int
    server_errors: int
    silent_4xx: int
    seconds: float
    exit_code: int
    statuses: Counter[int]

    @property
    def passed(self) -> bool:
        return self.exit_code == 0 and self.server_errors == 0 and self.silent_4xx == 0


def _until(what: str, probe: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := probe()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"not seen within {timeout} s: {what}")
        time.sleep(0.2)
    return found


def seed(system: Any, partner: str, publisher: str) -> dict[str, str]:
    """One purchase carried through: bought, licensed, activated (so invoiced) and
    given a seat more (so an operation is in progress). Its ids, by path parameter."""
    import httpx

    api = httpx.Client(base_url=system.ordering, headers={"Authorization": f"Bearer {partner}"})
    pub = httpx.Client(
        base_url=f"{system.provisioning}/api/saas/subscriptions",
        headers={"Authorization": f"Bearer {publisher}"},
        params={"api-version": "2018-08-31"},
    )
    bills = httpx.Client(base_url=system.billing, headers={"Authorization": f"Bearer {partner}"})
    with api, pub, bills:
        cid = api.post("/v1/customers", json={"companyName": "Fuzz Ltd"}).json()["id"]
        line = {
            "offerId": "contoso-crm",
            "planId": "standard",
            "quantity": 5,
            "termDuration": "P1M",
            "billingCycle": "monthly",
        }
        cart = api.post(f"/v1/customers/{cid}/carts", json={"lineItems": [line]}).json()["id"]
        [order] = api.post(f"/v1/customers/{cid}/carts/{cart}/checkout").json()["orders"]
        sid = order["lineItems"][0]["subscriptionId"]
        mine = f"/v1/customers/{cid}/subscriptions/{sid}"
        _until("the purchase at provisioning", lambda: pub.get(f"/{sid}").status_code == 200)
        licenses = {"assignments": [{"userId": "fuzz-user", "email": "u@fuzz.example"}]}
        pub.put(f"/{sid}/licenses", json=licenses).raise_for_status()
        pub.post(f"/{sid}/activate", json={"planId": "standard", "quantity": 5}).raise_for_status()
        _until("the activation", lambda: api.get(mine).json()["status"] == "active")
        api.patch(mine, json={"quantity": 6}).raise_for_status()
        operation = _until(
            "the seat change", lambda: pub.get(f"/{sid}/operations").json()["operations"]
        )
        invoices = _until("the first invoice", lambda: bills.get("/v1/invoices").json()["items"])
    return {
        "cid": cid,
        "customerId": cid,
        "cartId": cart,
        "orderId": order["id"],
        "sid": sid,
        "subscriptionId": sid,
        "operationId": operation[0]["id"],
        "invoiceId": invoices[0]["id"],
    }


def config_file(ids: dict[str, str], workdir: Path) -> Path:
    """schemathesis.toml: each id a dictionary its path parameter draws from half the time."""
    lines = []
    for name, value in ids.items():
        lines += [f"[dictionaries.{name}]", f"values = [{json.dumps(value)}]", ""]
    lines.append("[parameters]")
    for name in ids:
        lines.append(f'"path.{name}" = {{ dictionary = "{name}", probability = 0.5 }}')
    path = workdir / "schemathesis.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_target(target: Target, args: argparse.Namespace, workdir: Path, config: Path) -> Outcome:
    record = workdir / f"{target.name}.responses"
    record.unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        target.schema,
        "--header",
        f"Authorization: Bearer {target.token}",
        "--checks",
        "not_a_server_error,error_body_says_what_was_wrong",
        "--max-examples",
        str(args.max_examples),
        "--seed",
        str(args.seed),
        "--no-color",
    ]
    if target.base_url:
        command += ["--url", target.base_url]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tools.fuzz_apis", RECORD_ENV: str(record)}
    print(f"=== {target.name}: {target.schema}", flush=True)
    started = time.monotonic()
    result = subprocess.run(command, cwd=REPO, env=env, check=False)
    seconds = time.monotonic() - started
    lines = record.read_text().split() if record.exists() else []
    statuses = Counter(int(status) for status in lines[0::2])
    return Outcome(
        target=target.name,
        requests=sum(statuses.values()),
        server_errors=sum(n for status, n in statuses.items() if status >= 500),
        silent_4xx=lines[1::2].count("silent"),
        seconds=seconds,
        exit_code=result.returncode,
        statuses=statuses,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-examples", type=int, default=40)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument(
        "--figures", type=Path, help="write the summary between <!-- fuzz:begin/end --> here"
    )
    args = parser.parse_args()

    from tests.e2e.conftest import launch_system

    workdir = Path(tempfile.mkdtemp(prefix="csp-fuzz-"))
    outcomes: list[Outcome] = []
    skipped: list[str] = []
    try:
        with launch_system(workdir, CSP_TEST_CLOCK="true") as (system, _):
            partner = system.partner_token("fuzz-partner")
            publisher = system.publisher_token("contoso")
            config = config_file(seed(system, partner, publisher), workdir)
            targets = [
                Target("ordering", f"{system.ordering}/openapi.json", None, partner),
                Target("provisioning", f"{system.provisioning}/openapi.json", None, publisher),
                Target("billing", f"{system.billing}/openapi.json", None, partner),
            ]
            if SPEC.is_file():
                targets.append(
                    Target(
                        "publisher API (saasapi.v2.json)",
                        str(SPEC),
                        f"{system.provisioning}/api",
                        publisher,
                    )
                )
            else:
                skipped.append(f"publisher API (saasapi.v2.json): skipped, {SPEC} not found")
            for target in targets:
                outcomes.append(run_target(target, args, workdir, config))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print("\n=== fuzz summary")
    for o in outcomes:
        print(
            f"{o.target}: {o.requests} requests, {o.server_errors} 5xx, "
            f"{o.silent_4xx} 4xx without a message, {o.seconds:.0f} s, "
            f"statuses {dict(sorted(o.statuses.items()))}"
            + ("" if o.exit_code == 0 else f", schemathesis exit {o.exit_code}")
        )
    for line in skipped:
        print(line)
    failed = [o.target for o in outcomes if not o.passed]
    print("result", "FAILED: " + ", ".join(failed) if failed else "OK: no 5xx, every 4xx says why")
    if args.figures is not None:
        write_between(args.figures, "fuzz", figures_markdown(outcomes, skipped, args))
        print(f"figures written to {args.figures}")
    return 1 if failed else 0


def figures_markdown(outcomes: list[Outcome], skipped: list[str], args: argparse.Namespace) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Latest run: {when}, {args.max_examples} examples per operation, seed {args.seed}"
        f" (`python -m tools.fuzz_apis --max-examples {args.max_examples} --seed {args.seed}`).",
        "",
        "| API | requests | 5xx | 4xx without a message | time | result |",
        "|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        lines.append(
            f"| {o.target} | {o.requests:,} | {o.server_errors} | {o.silent_4xx} |"
            f" {o.seconds:.0f} s | {'ok' if o.passed else 'FAILED'} |"
        )
    lines += [f"| {line} | | | | | |" for line in skipped]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
