# The few verbs a newcomer needs. Every target installs what it needs first (pinned, into .venv).
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-$(shell cat requirements/lock.txt pyproject.toml layers/cfn-guard/install.sh | cksum | cut -d' ' -f1)
APP     ?= examples/flask-app

.PHONY: setup demo test test-fast lint format bench validate-sam build clean lock

$(STAMP): requirements/lock.txt pyproject.toml layers/cfn-guard/install.sh
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "HiveMind needs Python 3.11 or newer for its CLI and tests")'
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==0.13.8
	$(BIN)/uv pip install --python $(BIN)/python -q --compile-bytecode -r requirements/lock.txt
	$(BIN)/uv pip install --python $(BIN)/python -q --no-deps -e .
	$(BIN)/python -m compileall -q layers/hivemind/hivemind functions bench >/dev/null  # PYTHONDONTWRITEBYTECODE machines
	layers/cfn-guard/install.sh $(BIN)
	@rm -f $(VENV)/.installed-*; touch $@

setup: $(STAMP)            ## create .venv with the pinned toolchain

demo: setup                ## deploy an example app end to end on the local AWS runtime
	$(BIN)/hivemind deploy $(APP) --local

test: setup                ## lint, types, and the whole test suite (unit, integration on moto, e2e on the local runtime)
	tests/system-tools.sh
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -n 2 -q

test-fast: setup           ## unit tests only
	$(BIN)/pytest -q tests/unit

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

validate-sam: setup        ## sam validate --lint on HiveMind's own template
	$(BIN)/sam validate --lint --region us-east-1

build: setup               ## sam build (needs python3.13 on PATH, e.g. from pyenv)
	PATH="$$(pyenv prefix 3.13 2>/dev/null)/bin:$$PATH" $(BIN)/sam build

bench: setup               ## benchmarks: figures printed, never asserted
	$(BIN)/python bench/local_deploy.py
	$(BIN)/python bench/cold_start.py --build

lock:                      ## re-resolve requirements/lock.txt from requirements/dev.in
	$(BIN)/uv pip compile --python-version 3.11 requirements/dev.in -o requirements/lock.txt

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .hivemind
