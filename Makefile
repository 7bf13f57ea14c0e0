# Conversa — every command a developer or CI needs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_BOOTSTRAP ?= python3
VENV := $(CURDIR)/.venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMPS := $(CURDIR)/.stamps
BACKEND := $(CURDIR)/backend
FRONTEND := $(CURDIR)/frontend
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_POSTGRES_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test
HAS_FRONTEND := $(wildcard $(FRONTEND)/package.json)
TEST_SCALE_POSTGRES ?= postgresql+asyncpg://postgres@127.0.0.1:5432
TEST_SCALE_REDIS ?= redis://127.0.0.1:6379/0

.PHONY: help install install-dev local-model web run dev test lint typecheck test-backend test-postgres \
        test-backends test-web test-e2e test-deploy test-scale test-containers bench bench-ci deploy deploy-check clean

help: ## list the commands
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(PY):
	$(PYTHON_BOOTSTRAP) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(STAMPS)/runtime: $(BACKEND)/requirements.txt | $(PY)
	@mkdir -p $(STAMPS)
	$(PIP) install -q -r $(BACKEND)/requirements.txt
	@touch $@

$(STAMPS)/dev: $(BACKEND)/requirements-dev.txt $(BACKEND)/requirements.txt | $(PY)
	@mkdir -p $(STAMPS)
	$(PIP) install -q -r $(BACKEND)/requirements-dev.txt
	@touch $@ $(STAMPS)/runtime

install: $(STAMPS)/runtime ## install the backend into .venv

install-dev: $(STAMPS)/dev ## install the backend and its test tools

local-model: $(STAMPS)/runtime ## build llama-cpp-python once (cached) and fetch the default GGUF model
	bash scripts/install-local-model.sh $(VENV)

$(FRONTEND)/node_modules/.package-lock.json: $(FRONTEND)/package-lock.json
	cd $(FRONTEND) && npm ci --no-audit --no-fund
	@touch $@

web: ## build the web app into frontend/dist
ifneq ($(HAS_FRONTEND),)
	$(MAKE) $(FRONTEND)/node_modules/.package-lock.json
	cd $(FRONTEND) && npm run build
endif

run: install local-model web ## install everything and serve the app at http://127.0.0.1:8000
	cd $(BACKEND) && exec $(PY) -m uvicorn app.main:app --host $(HOST) --port $(PORT)

dev: install-dev ## backend with reload on :8000 and the Vite dev server on :5173
	cd $(BACKEND) && $(PY) -m uvicorn app.main:app --host $(HOST) --port $(PORT) --reload & \
	cd $(FRONTEND) && npm run dev; kill %1

lint: install-dev ## ruff (+ eslint)
	cd $(BACKEND) && $(PY) -m ruff check . && $(PY) -m ruff format --check app
ifneq ($(HAS_FRONTEND),)
	$(MAKE) $(FRONTEND)/node_modules/.package-lock.json
	cd $(FRONTEND) && npm run lint
endif

typecheck: install-dev ## mypy (+ tsc)
	cd $(BACKEND) && $(PY) -m mypy app
ifneq ($(HAS_FRONTEND),)
	cd $(FRONTEND) && npm run typecheck
endif

# Two workers per suite (a file's tests stay on one worker); on PostgreSQL each worker has its own
# database (tests/conftest.py). Measured with both suites side by side: 10 min -> 6 min.
PYTEST_WORKERS ?= -n 2 --dist loadfile

test-backend: install-dev ## backend tests on SQLite
	cd $(BACKEND) && $(PY) -m pytest -q $(PYTEST_WORKERS)

test-postgres: install-dev ## backend tests on the PostgreSQL at 127.0.0.1:5432 (db test)
	@if $(PY) -c "import socket; socket.create_connection(('127.0.0.1', 5432), 2)" 2>/dev/null; then \
		cd $(BACKEND) && TEST_DATABASE_URL=$(TEST_POSTGRES_URL) $(PY) -m pytest -q $(PYTEST_WORKERS); \
	elif [ "$$CI" = "true" ]; then echo "PostgreSQL is not reachable on 127.0.0.1:5432 (required in CI)"; exit 1; \
	else echo "SKIPPED: PostgreSQL tests (no server on 127.0.0.1:5432)"; fi

# Both suites at once: each waits on I/O (live servers, child processes, timers) most of the time
# (SQLite alone: 1m43s of CPU in 3m51s). Each test uses its own files, ports and Redis key prefix.
test-backends: install-dev ## backend tests on SQLite and on PostgreSQL, side by side
	@logs=$$(mktemp -d); \
	$(MAKE) --no-print-directory test-backend >$$logs/sqlite.log 2>&1 & sqlite=$$!; \
	$(MAKE) --no-print-directory test-postgres >$$logs/postgres.log 2>&1 & postgres=$$!; \
	wait $$sqlite; sqlite_rc=$$?; wait $$postgres; postgres_rc=$$?; \
	echo "== backend tests on SQLite (exit $$sqlite_rc)"; cat $$logs/sqlite.log; \
	echo "== backend tests on PostgreSQL (exit $$postgres_rc)"; cat $$logs/postgres.log; \
	rm -rf $$logs; [ $$sqlite_rc -eq 0 ] && [ $$postgres_rc -eq 0 ]

test-web: ## web app unit tests (vitest)
ifneq ($(HAS_FRONTEND),)
	$(MAKE) $(FRONTEND)/node_modules/.package-lock.json
	cd $(FRONTEND) && npm test
endif

# `make test` runs tsc in its typecheck step at the same time: there the build skips it (E2E_SCRIPT=e2e:bundle),
# as both would write the same .tsbuildinfo.
E2E_SCRIPT ?= e2e
test-e2e: install-dev ## browser tests: Debian Chromium + Playwright against the real backend
ifneq ($(HAS_FRONTEND),)
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	$(MAKE) $(FRONTEND)/node_modules/.package-lock.json
	cd $(FRONTEND) && npm run $(E2E_SCRIPT)
endif

test-deploy: install-dev ## CloudFormation lint/checks and the deploy script against moto
	$(PY) -m pytest -q deploy/tests

test-scale: install-dev ## two app processes + nginx (config from docker-compose.scale.yml) on PostgreSQL and Redis
	@command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; }
	TEST_SCALE_POSTGRES=$(TEST_SCALE_POSTGRES) TEST_SCALE_REDIS=$(TEST_SCALE_REDIS) $(PY) scripts/test_scale.py

# The backend suites use both cores on their own; the browser tests mostly wait on the app (198 s of
# CPU in 386 s), so lint, types and the unit, deploy and scale-out tests run beside them. (All three
# at once: 427 and 461 s against 472 s, within the runs' noise, with the backend suites slowed from
# 177 s to 408-444 s: more load on every timed test for no clear gain.)
# The lanes must not install at the same time (npm ci, apt-get): what they need is installed first.
test: install-dev local-model ## everything: lint, types, all tests
	@missing=""; command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi
ifneq ($(HAS_FRONTEND),)
	@$(MAKE) --no-print-directory $(FRONTEND)/node_modules/.package-lock.json >/dev/null
endif
	@logs=$$(mktemp -d); started=$$SECONDS; \
	lane() { local name=$$1 failed=0; shift; for step in "$$@"; do \
		echo "== make $$step" >>$$logs/$$name.log; \
		$(MAKE) --no-print-directory $$step >>$$logs/$$name.log 2>&1 || { failed=1; echo "== make $$step FAILED" >>$$logs/$$name.log; }; \
	done; echo "== $$name ended after $$((SECONDS - started)) s (exit $$failed)" >>$$logs/$$name.log; return $$failed; }; \
	status=0; lane backends test-backends || status=1; \
	lane browser "test-e2e E2E_SCRIPT=e2e:bundle" & browser=$$!; \
	lane rest lint typecheck test-web test-deploy test-scale || status=1; \
	wait $$browser || status=1; \
	cat $$logs/backends.log $$logs/rest.log $$logs/browser.log; rm -rf $$logs; \
	echo "make test: $$((SECONDS - started)) s (exit $$status)"; exit $$status

test-containers: ## build and run the image and compose files with podman (1 GB / 1 CPU)
	bash scripts/test-containers.sh

bench: install-dev ## benchmarks (figures printed and written to bench/results/)
	$(PY) bench/run.py

bench-ci: install-dev ## short benchmark run with generous thresholds
	$(PY) bench/run.py --short --check

deploy: install-dev ## deploy or update the AWS stack and upload the web app
	$(PY) deploy/aws/deploy.py deploy $(ARGS)

deploy-check: install-dev ## validate the AWS template and settings without deploying
	$(PY) deploy/aws/deploy.py check

clean: ## remove the venv, build output and stamps (keeps data/ and the model cache)
	rm -rf $(VENV) $(STAMPS) $(FRONTEND)/dist $(FRONTEND)/node_modules
