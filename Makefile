# The two commands a newcomer needs:
#   make synth   set everything up, then synthesize the default stage (no AWS account, no Docker engine)
#   make test    set everything up, then run the gates: ruff, mypy, pytest (snapshots, cfn-lint, cdk-nag)
SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: setup synth test lint typecheck unit clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt drift_engine/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

synth: setup
	npx cdk synth --quiet

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy .

unit: setup
	$(BIN)/python -m pytest

test: lint typecheck unit

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache

# Offline `cdk diff` of every stack: the merge-base with BASE (default origin/main, else main) vs the working tree.
# No AWS account needed. Extra options in DIFF_ARGS, e.g. make diff BASE=HEAD DIFF_ARGS="-c stage=prod".
.PHONY: diff
diff: setup
	$(BIN)/python scripts/offline_diff.py $(if $(BASE),--base '$(BASE)') $(DIFF_ARGS)
