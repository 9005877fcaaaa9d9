# Developer commands. `make run` and `make test` set everything up on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test lint typecheck check bench clean

$(STAMP): pyproject.toml
	@echo "==> creating $(VENV) and installing Loom with all extras (first run only)"
	@test -d $(VENV) || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP) ## create .venv and install everything

run: $(STAMP) ## run the store example on SQLite: Swagger at http://127.0.0.1:8000/docs
	@cd examples/store && ../../$(BIN)/python -m loom.cli run config/api.yaml --host 127.0.0.1 --port 8000

test: $(STAMP) ## the whole test suite (PostgreSQL/Redis tests run when the servers are reachable)
	@$(BIN)/python scripts/test.py $(ARGS)

lint: $(STAMP)
	@$(BIN)/ruff check src tests examples benchmarks scripts
	@$(BIN)/ruff format --check src tests examples benchmarks scripts

typecheck: $(STAMP)
	@$(BIN)/mypy

check: lint typecheck test

bench: $(STAMP) ## benchmark suite (Loom vs hand-written FastAPI vs raw asyncpg)
	@$(BIN)/python -m benchmarks.run $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

.PHONY: worker flower

BROKER ?= redis://127.0.0.1:6379/0

worker: $(STAMP) ## Celery worker of the store example on Redis (start the API with CELERY_BROKER_URL=$(BROKER) make run)
	@cd examples/store && CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(BROKER)} PYTHONPATH=src ../../$(BIN)/celery -A app.worker_main:celery_app worker --loglevel=INFO

flower: $(STAMP) ## Flower, the Celery monitor, for the store worker: http://127.0.0.1:5555
	@cd examples/store && CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(BROKER)} PYTHONPATH=src ../../$(BIN)/celery -A app.worker_main:celery_app flower --address=127.0.0.1 --port=5555

.PHONY: fuzz soak

fuzz: $(STAMP) ## schemathesis, all phases incl. stateful, on every shipped app (SQLite and PostgreSQL), 50+ examples per operation (nightly)
	@LOOM_FUZZ_EXAMPLES=$${LOOM_FUZZ_EXAMPLES:-50} LOOM_FUZZ_FULL=1 $(BIN)/python -m pytest tests/reliability/test_fuzz.py -q $(ARGS)

soak: $(STAMP) ## one minute of steady loopback load on the store API; fails on any error
	@$(BIN)/python scripts/soak.py --rate $${SOAK_RATE:-100} --duration $${SOAK_SECONDS:-60} $(ARGS)
