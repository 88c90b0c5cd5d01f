# Личный кабинет ТП — every day-to-day command. See README.md.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export LK_VAR_DIR ?= $(CURDIR)/var

.PHONY: setup run run-stack test test-fast lint infra-up infra-down infra-status infra-reset infra-lint bench bench-million clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

## setup: .venv with every pinned dependency (requirements.lock), the `lk` command, and
## LibreOffice for the PDF of the generated documents (deploy/libreoffice.sh, Debian's package)
setup: $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	bash deploy/libreoffice.sh
	@echo "Готово. Запуск: make run"

## run: the whole system on the embedded default, cabinet at http://127.0.0.1:8000
run:
	$(BIN)/lk run

## infra-up / infra-down: real Kafka, PostgreSQL, S3 server and Mailpit on 127.0.0.1
## (their data is in .infra/, or LK_INFRA_DIR, apart from var/)
infra-up:
	bash deploy/infra.sh up

infra-down:
	bash deploy/infra.sh down

infra-status:
	bash deploy/infra.sh status

## infra-reset: stop the real servers and delete their data (.infra/, PostgreSQL databases of role lk)
infra-reset:
	bash deploy/infra.sh reset

## infra-lint: shellcheck the deploy scripts (installs Debian's shellcheck when missing)
infra-lint:
	bash deploy/tools.sh shellcheck
	shellcheck -x deploy/*.sh

## run-stack: every service as its own process on the real servers, behind the system's own
## nginx on :8000 (its configuration generated from the routing table: lk edge-config);
## REPLICAS=N: N processes of every service (ports +10 each), nginx spreads over them
REPLICAS ?= $(or $(LK_REPLICAS),1)
run-stack: infra-up
	eval "$$(bash deploy/infra.sh env)" && LK_REPLICAS=$(REPLICAS) $(BIN)/lk run-stack

## test-fast: lint, types and the unit tests; no servers, no browser (make test runs all)
test-fast:
	$(MAKE) lint
	$(BIN)/pytest tests/unit -m "not servers" -q

lint:
	$(BIN)/ruff check shared services tests bench
	$(BIN)/ruff format --check shared services tests bench
	$(BIN)/mypy

## test: lint, type checks, then every test (unit, both modes, browser) on real servers
test: infra-up
	bash deploy/chromium.sh
	$(MAKE) lint
	eval "$$(bash deploy/infra.sh env)" && $(BIN)/pytest

## bench: benchmarks that print figures (no pass/fail on timing)
bench: infra-up
	bash deploy/tools.sh
	eval "$$(bash deploy/infra.sh env)" && $(BIN)/python -m bench

## bench-million: the 1 000 000-event benchmark (long; EVENTS=100000 for a smaller one, MODES=stack)
EVENTS ?= 1000000
MODES ?= stack,embedded
bench-million: infra-up
	eval "$$(bash deploy/infra.sh env)" && LK_BENCH_EVENTS=$(EVENTS) LK_BENCH_MODES=$(MODES) $(BIN)/python -m bench --only million

## clean: start over with the embedded data (var/); the real servers' data is apart (make infra-reset)
clean:
	@if [ -d var/infra ]; then \
	  echo "var/infra holds the real servers' data from before .infra/: run 'make infra-up' once (it moves it), then 'make clean'" >&2; \
	  exit 1; \
	fi
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
