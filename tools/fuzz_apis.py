"""`make fuzz`: schemathesis against each service's own OpenAPI, on a running system.

Checks that no generated request (bad types, missing fields, odd paths) gets a 5xx:
bad input must be a 4xx naming the problem. Bounded: a fixed number of examples per
operation, loopback only. Not part of `make test` (it takes about a minute).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.e2e.conftest import launch_system


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-examples", type=int, default=40)
    args = parser.parse_args()
    failed = []
    workdir = Path(tempfile.mkdtemp(prefix="csp-fuzz-"))
    with launch_system(workdir) as (system, _):
        targets = {
            "ordering": (system.ordering, system.partner_token("fuzz-partner")),
            "provisioning": (system.provisioning, system.publisher_token("contoso")),
            "billing": (system.billing, system.partner_token("fuzz-partner")),
        }
        for name, (base, token) in targets.items():
            print(f"=== {name}: {base}/openapi.json", flush=True)
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "schemathesis.cli",
                    "run",
                    f"{base}/openapi.json",
                    "--header",
                    f"Authorization: Bearer {token}",
                    "--checks",
                    "not_a_server_error",
                    "--max-examples",
                    str(args.max_examples),
                    "--no-color",
                ],
                check=False,
            )
            if result.returncode != 0:
                failed.append(name)
    shutil.rmtree(workdir, ignore_errors=True)
    print("result", "FAILED: " + ", ".join(failed) if failed else "OK: no 5xx")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
