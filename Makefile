# storekpi — the two commands a new user needs: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)

.PHONY: install run test test-deps test-distributed bench bench-smoke docs clean

# Install once into .venv (again only when pyproject.toml or constraints.txt change).
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,celery]"
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

## Generate a demo landing folder and run the nightly pipeline on it (embedded DuckDB + SQLite Airflow).
run: $(STAMP)
	$(BIN)/storekpi demo

## The whole test suite (what CI runs).
test: $(STAMP) test-deps
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not distributed"
	$(MAKE) --no-print-directory test-distributed

## Airflow as five separate processes (CeleryExecutor) on the local PostgreSQL and Redis; skips if either is absent.
test-distributed: $(STAMP)
	$(BIN)/python -m pytest -q -s -p no:cacheprovider -m distributed tests/deploy

## Benchmarks at full size: writes bench/report.md and bench/report.json. About 10 min on 2 cores, plus the scale
## section's 10 M-line run (about 15 min) and the PostgreSQL section (`python -m bench.run --only SECTION` runs one).
bench: $(STAMP)
	$(BIN)/python -m bench.run

## The same benchmarks at tiny sizes (the test suite runs this through tests/bench); report in bench/work/smoke/.
bench-smoke: $(STAMP)
	$(BIN)/python -m bench.run --smoke

# System packages some tests drive for real (headless Chromium for the report); installed when we may.
test-deps:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null) \
	  || echo "chromium not installed: the report browser test will skip"; }

## dbt docs for analysts: every mart and column (opens as static files in docs/dbt/).
docs: $(STAMP)
	$(BIN)/python -c "from pathlib import Path; from storekpi.dbt_runner import docs; print(docs(Path('docs/dbt')))"

clean:
	rm -rf demo .storekpi .pytest_cache dbt/target dbt/logs bench/work
