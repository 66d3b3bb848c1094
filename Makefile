# The interface of the project: make demo, make test, make lint, make bench, make build.
SHELL := /bin/bash
VENV := .venv
# Lambda runs python3.13: use it for the virtualenv and for `sam build` (pyenv keeps one on these machines).
# pyenv's shims are skipped: they refuse a version that is not selected.
PYTHON313 := $(shell { ls -d $$HOME/.pyenv/versions/3.13*/bin/python3.13 2>/dev/null; which -a python3.13 2>/dev/null | grep -v shims; } | head -n 1)
PYTHON_FOR_VENV := $(if $(PYTHON313),$(PYTHON313),python3)
export PATH := $(abspath $(VENV))/bin:$(if $(PYTHON313),$(dir $(PYTHON313)):,)$(PATH)
export SAM_CLI_TELEMETRY := 0
export PYTHONDONTWRITEBYTECODE := 1

SCAN_VENV := .venv-scan
CHECKOV_VERSION := 3.3.30

.PHONY: venv system-deps lint format validate scan build unit integration pytest test demo bench lifecycle openapi workflows clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml layers/shared/requirements.txt
	$(PYTHON_FOR_VENV) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e ".[dev]"
	touch $@

system-deps:
	@bash local/install-system-deps.sh

lint: venv
	ruff check .
	ruff format --check .
	mypy layers/shared functions

format: venv
	ruff format .
	ruff check --fix .

# The committed ASL must be what statemachine/spec.py generates (make workflows rewrites it).
validate: venv
	python -m local workflows --check
	sam validate --lint --template template.yaml
	sam validate --lint --template source-account/template.yaml

# checkov lives in a virtualenv of its own: its dependencies pin versions the project's need not share.
$(SCAN_VENV)/.installed:
	$(PYTHON_FOR_VENV) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet "checkov==$(CHECKOV_VERSION)"
	touch $@

# .checkov.yaml: the framework and the skips that hold for every function; a resource's own skips sit beside it.
scan: venv $(SCAN_VENV)/.installed
	@mkdir -p .aws-sam
	$(SCAN_VENV)/bin/checkov --config-file .checkov.yaml --file template.yaml --file source-account/template.yaml \
		--output json > .aws-sam/checkov.json || true
	python local/scan_summary.py .aws-sam/checkov.json

build: venv
	@test -n "$(PYTHON313)" || { echo "sam build needs python3.13 on PATH (the Lambda runtime)"; exit 1; }
	sam build --template template.yaml --build-dir .aws-sam/build
	@# The functions run on arm64: a wheel for another machine would fail at import, after deployment.
	@command -v file >/dev/null || { echo "the arm64 check of the build needs file(1)"; exit 1; }
	@if find .aws-sam/build -name '*.so' -exec file {} + | grep -v 'ARM aarch64'; then \
		echo "the native libraries above are not arm64 (check BuildArchitecture of the layers)"; exit 1; fi

# Each test file runs whole on one worker: a module's emulated world is deployed once. One worker more than the
# cores: workers wait on real PostgreSQL servers and subprocesses (on 2 cores: 211 s with 3 workers, 230 s with 2).
PYTEST_PARALLEL := -n $(shell expr $$(nproc 2>/dev/null || echo 1) + 1) --dist loadfile

unit: venv
	python -m pytest -q tests/unit tests/statemachine

integration: venv system-deps
	python -m pytest $(PYTEST_PARALLEL) tests/integration tests/security

pytest: venv system-deps
	python -m pytest $(PYTEST_PARALLEL)

test: lint validate scan build pytest

demo: venv system-deps
	python -m local demo

bench: venv system-deps
	python -m local bench

lifecycle: venv system-deps
	python -m local lifecycle

openapi: venv
	python -m local openapi

workflows: venv
	python -m local workflows

clean:
	rm -rf $(VENV) $(SCAN_VENV) .aws-sam .pytest_cache .ruff_cache
