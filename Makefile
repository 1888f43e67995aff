# The two commands a newcomer needs:
#   make synth   set everything up, then synthesize the default stage (no AWS account, no Docker engine)
#   make test    set everything up, then run the gates: ruff, mypy, pytest (snapshots, cfn-lint, cdk-nag)
#   make lab     set everything up, then run the builtin engine's lab in memory (no AWS account)
SHELL := /bin/bash
comma := ,
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# The oldest Python the project supports (pyproject.toml's requires-python; tests/test_makefile.py keeps the two
# equal). Checked once, when make reads this file, so an older one stops every target with one line that names
# the minimum, before a venv is half built. `make clean` needs no Python.
PYTHON_MIN := 3.11
ifneq ($(or $(MAKECMDGOALS),setup),clean)
PYTHON_FOUND := $(shell $(PYTHON) -c 'import sys; print("ok" if sys.version_info >= ($(subst .,$(comma),$(PYTHON_MIN)),) else "%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)
ifneq ($(PYTHON_FOUND),ok)
$(error Python $(PYTHON_MIN) or newer is needed; $(PYTHON) is $(or $(PYTHON_FOUND),not a Python that runs))
endif
endif
export PATH := $(CURDIR)/$(BIN):$(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: setup synth test lint typecheck unit clean lock lab

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

# The builtin engine's whole loop on this machine, AWS in memory (moto): baseline, steady and drifted hour of demo
# traffic, the hourly analysis, the violation percentage and the alarm decision, reports in lab-report/.
lab: setup
	$(BIN)/python -m ops lab --out lab-report

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache

# Offline `cdk diff` of every stack: the merge-base with BASE (default origin/main, else main) vs the working tree.
# No AWS account needed. Extra options in DIFF_ARGS, e.g. make diff BASE=HEAD DIFF_ARGS="-c stage=prod".
.PHONY: diff
diff: setup
	$(BIN)/python scripts/offline_diff.py $(if $(BASE),--base '$(BASE)') $(DIFF_ARGS)

# Recompile the locks (every package pinned with its hashes, nothing left to resolve at build time) after a change
# to a requirements.in, with uv (pinned in requirements-dev.txt), constrained to the versions installed here: what
# the tests run is what the images and zips ship. Each lock is for its Lambda platform: x86_64 manylinux and the
# runtime's Python (the baseline and engine images' FROM lines; the violation-metric function's runtime).
UV_COMPILE = $(BIN)/uv pip compile --quiet --generate-hashes --custom-compile-command "make lock" \
	--constraint $(VENV)/tested-versions.txt
lock: setup
	$(BIN)/python -m pip freeze --exclude-editable > $(VENV)/tested-versions.txt
	$(UV_COMPILE) --python-platform x86_64-manylinux_2_34 --python-version 3.13 \
		lambdas/baseline/requirements.in -o lambdas/baseline/requirements.txt
	$(UV_COMPILE) --python-platform x86_64-manylinux_2_28 --python-version 3.14 \
		lambdas/violation_metric/requirements.in -o lambdas/violation_metric/requirements.txt
	$(UV_COMPILE) --python-platform x86_64-manylinux_2_34 --python-version 3.13 \
		drift_engine/image-requirements.in -o drift_engine/image-requirements.txt

# Every locked package resolves to a wheel for its Lambda platform (downloads them; needs PyPI).
.PHONY: check-image-wheels
check-image-wheels: setup
	$(BIN)/python scripts/check_image_wheels.py
