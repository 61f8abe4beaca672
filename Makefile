# Two commands on a fresh machine with Python 3.11+ and make: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
REGISTRY_PORT ?= 8000
MATCHING_PORT ?= 8001
export MATCHING_REGISTRY_URL ?= http://$(HOST):$(REGISTRY_PORT)
# The explorer at the registry's / calls the matching service from the browser.
export MATCHING_PUBLIC_URL ?= http://$(HOST):$(MATCHING_PORT)
export MATCHING_CORS_ALLOW_ORIGINS ?= http://$(HOST):$(REGISTRY_PORT)
# The matching service's own registry key (scope registry:propose), issued by `make demo`.
SERVICE_KEY := data/matching-service.key
export MATCHING_REGISTRY_KEY_FILE ?= $(SERVICE_KEY)

.PHONY: run run-registry run-matching test install migrate demo lint clean typescript-client bench evaluate web

run: demo ## migrate, load the demo data if empty, serve both services (Ctrl-C stops both)
	@echo "explorer: http://$(HOST):$(REGISTRY_PORT)/   registry: http://$(HOST):$(REGISTRY_PORT)/docs   matching: http://$(HOST):$(MATCHING_PORT)/docs"
	@$(PY) -m services.registry serve --host $(HOST) --port $(REGISTRY_PORT) & registry=$$!; \
	trap 'kill $$registry 2>/dev/null' EXIT INT TERM; \
	$(PY) -m services.matching serve --host $(HOST) --port $(MATCHING_PORT)

run-registry: demo ## the registry alone
	$(PY) -m services.registry serve --host $(HOST) --port $(REGISTRY_PORT)

run-matching: migrate ## the matching service alone (follows the registry at MATCHING_REGISTRY_URL)
	$(PY) -m services.matching serve --host $(HOST) --port $(MATCHING_PORT)

test: demo ## same bootstrap, then the whole test suite
	$(PY) -m pytest

install: $(STAMP)

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Passerelles needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the declared dependencies change.
$(STAMP): pyproject.toml constraints.txt | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

migrate: install
	$(PY) -m services.registry migrate
	$(PY) -m services.matching migrate

demo: migrate
	$(PY) -m services.registry load-demo --if-empty
	@$(PY) -m services.registry keys create --name matching-service --scope registry:propose \
		--output $(SERVICE_KEY) --if-missing

bench: install ## benchmarks: import timings (BENCH_ARGS="--runs 1 --postgres URL"), then load figures against a bare endpoint (PERF_ARGS="--quick" or "--scales 10000,100000 --postgres URL")
	$(PY) bench/import_bench.py $(BENCH_ARGS)
	$(PY) bench/perf_bench.py $(PERF_ARGS)

evaluate: install ## partner suggestions on a real network, through the import and the API, against classical baselines (EVALUATE_ARGS="--seeds 1")
	$(PY) bench/suggestions_eval.py $(EVALUATE_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) data/passerelles.db* data/matching.db* $(SERVICE_KEY)

# The npm packages of the TypeScript client, reinstalled when its lock file changes.
TS_CLIENT := clients/typescript
$(TS_CLIENT)/node_modules/.package-lock.json: $(TS_CLIENT)/package.json $(TS_CLIENT)/package-lock.json
	cd $(TS_CLIENT) && npm ci --no-audit --no-fund

typescript-client: install $(TS_CLIENT)/node_modules/.package-lock.json ## TypeScript types of both APIs (clients/typescript/src/generated), checked with tsc --strict
	$(PY) $(TS_CLIENT)/generate.py

# The explorer's world outline (services/registry/web/world.json, committed) from the locked npm
# packages of web/: run it after changing web/build.mjs or web/package-lock.json.
web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund

web: web/node_modules/.package-lock.json ## rebuild the explorer's world outline (needs Node.js)
	cd web && node build.mjs
