# Two commands on a fresh machine:
#   make demo   seed the demo ledger, run every asset for every closed period, print where outputs are
#   make test   install what the tests need, start what they need, run the whole suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ACCOUNTS ?= 20000
MONTHS ?= 15
SEED ?= 16
# base: a healthy trust and a warehouse that draws as it ramps;
# stress: a downturn that breaches the trust's triggers (early amortization)
SCENARIO ?= base
# Test processes: each starts its own PostgreSQL and S3 servers.
TEST_WORKERS ?= 2

# The demo's environment: its own key file for account_ref (FUNDING_DEMO), and
# the commit the code was built from in code_version (GIT_SHA).
DEMO_ENV := FUNDING_DEMO=1 GIT_SHA=$$(git rev-parse HEAD 2>/dev/null) DAGSTER_HOME=$(CURDIR)/var/dagster

.PHONY: install install-test demo demo-s3 run restate test lint ui bench clean

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv==0.13.9

install: $(BIN)/uv
	bash scripts/system-packages
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e .
	@test -f .env || printf 'DAGSTER_HOME=%s/var/dagster\nFUNDING_DEMO=1\n' "$(CURDIR)" > .env
	@mkdir -p var/dagster && (test -f var/dagster/dagster.yaml || printf 'telemetry:\n  enabled: false\n' > var/dagster/dagster.yaml)

install-test: install
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[test]'
	bash scripts/system-packages --test

demo: install
	$(DEMO_ENV) bash scripts/demo --accounts $(ACCOUNTS) --months $(MONTHS) --seed $(SEED) --scenario $(SCENARIO)

# Run or restate periods on the embedded default's instance (var/):
#   make run PERIOD=2025-04 THROUGH=2025-06 [RERUN=1]
#   make restate PERIOD=2025-04 CUTOFF="2025-05-20 00:00:00" REASON="Late payment postings"
run: install
	$(DEMO_ENV) $(BIN)/funding run $(if $(PERIOD),--period $(PERIOD)) $(if $(THROUGH),--through $(THROUGH)) $(if $(RERUN),--rerun)

restate: install
	@test -n "$(PERIOD)" -a -n "$(CUTOFF)" -a -n "$(REASON)" || { echo 'usage: make restate PERIOD=YYYY-MM CUTOFF="YYYY-MM-DD HH:MM:SS" REASON="..."'; exit 2; }
	$(DEMO_ENV) $(BIN)/funding restate --period "$(PERIOD)" --cutoff "$(CUTOFF)" --reason "$(REASON)"

test: install-test
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check .

ui: install
	$(DEMO_ENV) $(BIN)/dagster dev

bench: install-test
	$(BIN)/python bench/run.py

clean:
	rm -rf var .env

demo-s3: install-test
	$(DEMO_ENV) bash scripts/demo-s3
