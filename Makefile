# Everything a fresh machine with Python 3.11 and pip needs: `make demo`, `make test`.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bench bench-large lint format schema clean chromium

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# the package alone (for the demo); reinstalled when pyproject.toml changes
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# the package with its test dependencies
$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

demo: $(VENV)/.installed
	$(BIN)/adots demo

test: $(VENV)/.installed-test chromium
	$(BIN)/python -m pytest

# Debian's Chromium for the browser tests of the HTML reports (Playwright drives it; no browser download)
chromium:
	@test -x /usr/bin/chromium || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

bench: $(VENV)/.installed-test
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	$(BIN)/python benchmarks/run.py

# 75,000 neurons x 18,000 frames streamed from a 5.4 GB NWB file under /tmp (not part of test or bench)
bench-large: $(VENV)/.installed-test
	$(BIN)/python benchmarks/bench_large.py $(BENCH_LARGE_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: $(VENV)/.installed-test
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

# regenerate the committed JSON Schema after changing DotMetadata (a test compares them)
schema: $(VENV)/.installed
	$(BIN)/adots schema -o schema/dot-metadata.schema.json

clean:
	rm -rf $(VENV) adots-demo .pytest_cache
