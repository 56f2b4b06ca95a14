# Two commands on a fresh machine:
#   make demo   seed the demo ledger, run every asset for every closed period, print where outputs are
#   make test   install what the tests need, start what they need, run the whole suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ACCOUNTS ?= 20000
MONTHS ?= 15
SEED ?= 7

.PHONY: install install-test demo demo-s3 test lint ui bench clean

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv==0.13.9

install: $(BIN)/uv
	bash scripts/system-packages
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e .
	@test -f .env || printf 'DAGSTER_HOME=%s/var/dagster\n' "$(CURDIR)" > .env
	@mkdir -p var/dagster && (test -f var/dagster/dagster.yaml || printf 'telemetry:\n  enabled: false\n' > var/dagster/dagster.yaml)

install-test: install
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[test]'
	bash scripts/system-packages --test

demo: install
	DAGSTER_HOME=$(CURDIR)/var/dagster $(BIN)/funding seed --accounts $(ACCOUNTS) --months $(MONTHS) --seed $(SEED)
	DAGSTER_HOME=$(CURDIR)/var/dagster $(BIN)/funding run --rerun

test: install-test
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check .

ui: install
	DAGSTER_HOME=$(CURDIR)/var/dagster $(BIN)/dagster dev

bench: install-test
	$(BIN)/python bench/run.py

clean:
	rm -rf var .env

demo-s3: install-test
	bash scripts/demo-s3
