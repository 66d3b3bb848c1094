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

.PHONY: venv system-deps lint format validate scan build unit pytest sanitize test demo bench openapi clean

LINECODEC := layers/linecodec
EXT_SUFFIX = $(shell $(VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')

venv: $(VENV)/.installed $(VENV)/.linecodec

$(VENV)/.installed: pyproject.toml layers/shared/requirements.txt
	$(PYTHON_FOR_VENV) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e ".[dev]"
	touch $@

# The transform's C encoder, compiled into the virtualenv (sam build compiles the layer's own copy).
$(VENV)/.linecodec: $(VENV)/.installed $(LINECODEC)/pgaudit_linecodec.c $(LINECODEC)/pyproject.toml $(LINECODEC)/setup.py
	$(VENV)/bin/python -m pip install --quiet $(LINECODEC)
	touch $@

system-deps:
	@bash local/install-system-deps.sh

lint: venv
	ruff check .
	ruff format --check .

format: venv
	ruff format .
	ruff check --fix .

validate: venv
	sam validate --lint --template template.yaml
	sam validate --lint --template source-account/template.yaml

# checkov lives in a virtualenv of its own: its dependencies pin versions the project's need not share.
$(SCAN_VENV)/.installed:
	$(PYTHON_FOR_VENV) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet "checkov==$(CHECKOV_VERSION)"
	touch $@

scan: venv $(SCAN_VENV)/.installed
	@mkdir -p .aws-sam
	$(SCAN_VENV)/bin/checkov --file template.yaml --file source-account/template.yaml --framework cloudformation --skip-download \
		--output json > .aws-sam/checkov.json || true
	python local/scan_summary.py .aws-sam/checkov.json

build: venv
	@test -n "$(PYTHON313)" || { echo "sam build needs python3.13 on PATH (the Lambda runtime)"; exit 1; }
	sam build --template template.yaml --build-dir .aws-sam/build

pytest: venv system-deps
	python -m pytest

# The C encoder reads text any database user can write: run its tests under AddressSanitizer and UBSan,
# which stop at the first bad read, write or undefined operation.
sanitize: venv
	@mkdir -p .aws-sam/sanitize
	gcc -shared -fPIC -g -O1 -Wall -Wextra -Werror -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
		-I"$$(python -c 'import sysconfig; print(sysconfig.get_paths()["include"])')" \
		$(LINECODEC)/pgaudit_linecodec.c -o .aws-sam/sanitize/pgaudit_linecodec$(EXT_SUFFIX)
	PYTHONPATH=.aws-sam/sanitize PYTHONMALLOC=malloc ASAN_OPTIONS=detect_leaks=0 \
		LD_PRELOAD="$$(gcc -print-file-name=libasan.so) $$(gcc -print-file-name=libubsan.so)" \
		sh -c 'python -c "import pgaudit_linecodec as m; assert \"sanitize\" in m.__file__, m.__file__" && \
		python -m pytest -q -s -p no:cacheprovider tests/unit/test_linecodec.py tests/unit/test_transform.py'

test: lint validate scan build sanitize pytest

demo: venv system-deps
	python -m local demo

bench: venv system-deps
	python -m local bench

openapi: venv
	python -m local openapi

clean:
	rm -rf $(VENV) $(SCAN_VENV) .aws-sam .pytest_cache .ruff_cache
