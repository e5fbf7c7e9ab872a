# Two commands matter: `make run` and `make test`. Both install what they need.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-stamp

.PHONY: install run test lint test-unit test-integration test-e2e bench bench-quick bench-soak bench-store fuzz chaos asyncapi clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Start broker + ordering + provisioning + billing + dashboard; Ctrl-C stops all.
run: install
	$(BIN)/python -m services.launcher

## The whole default suite: lint, unit, store contract, broker integration, end-to-end.
test: lint
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test-unit: install
	$(BIN)/python -m pytest -q tests/unit tests/contract

test-integration: install
	$(BIN)/python -m pytest -q tests/integration

test-e2e: install
	$(BIN)/python -m pytest -q tests/e2e

## Measured figures of purchase -> activation -> charge beside a raw Kafka baseline, in one
## run of about 3 minutes (not a test; see benchmarks/README.md, which it updates).
bench: install
	$(BIN)/python -m benchmarks.purchase_to_charge

## The same at small sizes (about a minute): the harness works; not figures to quote.
bench-quick: install
	$(BIN)/python -m benchmarks.purchase_to_charge --quick --no-readme

## Memory over time: 5 minutes at half the maximum rate, each process's RSS at the start
## and the end of it (about 7 minutes; not a test).
bench-soak: install
	$(BIN)/python -m benchmarks.purchase_to_charge --half-seconds 300 --backlog 0 \
		--raw-messages 0 --no-readme --results benchmarks/results/soak.json

## The SQLite store at 1,000,000 subscriptions: get, list pages, purge beside a writer
## (about 2 minutes and 1.5 GB of temporary disk; updates benchmarks/README.md).
bench-store: install
	$(BIN)/python -m benchmarks.store_scale --documents 1000000

## schemathesis against each service's OpenAPI on a running system: no input may get a 5xx.
fuzz: install
	$(BIN)/python -m tools.fuzz_apis --figures README.md

## Services SIGKILLed mid-flow and restarted: every purchase still ends with exactly one charge.
chaos: install
	$(BIN)/python -m tools.chaos --figures README.md

## The same with the embedded broker SIGKILLed and restarted once mid-flow, then the outbox replay.
.PHONY: chaos-broker
chaos-broker: install
	$(BIN)/python -m tools.chaos --broker-restarts 1 --figures README.md

## AsyncAPI documents of each service into docs/asyncapi/.
asyncapi: install
	mkdir -p docs/asyncapi
	for service in ordering provisioning billing; do \
	  $(BIN)/python -c "from services.$$service.asyncapi import asyncapi; print(asyncapi().to_specification().to_yaml())" \
	    > docs/asyncapi/$$service.yaml || exit 1; \
	done
	@echo "wrote docs/asyncapi/{ordering,provisioning,billing}.yaml"

clean:
	rm -rf $(VENV) data .pytest_cache
