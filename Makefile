# goldset: `make run` serves the app on SQLite with tasks in-process; `make test` checks everything.
SHELL := /bin/bash
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export OMP_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS ?= 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test install migrate demo lint pytest worker beat bench-import bench-queue bench-agreement bench-dashboard bench-datacards bench-learning bench-noise clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py demo_setup

run: demo
	@echo "Serving goldset on http://127.0.0.1:8000/ (Ctrl-C stops)"
	$(BIN)/python manage.py runserver 127.0.0.1:8000

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/lint-imports
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest

test: lint pytest

# Real services (see docker-compose.yml for the full deployment).
worker: install
	$(BIN)/celery -A config worker --loglevel=INFO --concurrency=2

beat: install
	$(BIN)/celery -A config beat --loglevel=INFO

bench-import: install
	$(BIN)/python bench/import_bench.py

bench-queue: install
	$(BIN)/python bench/queue_bench.py

bench-datacards: install
	$(BIN)/python bench/datacards_bench.py

# Agreement statistics: 100k items x 3 annotators x 10 categories, bootstrap CIs (no database).
bench-agreement: install
	$(BIN)/python bench/agreement_bench.py

# Lead dashboard at 1M annotations: snapshot computation, page and API times (PostgreSQL, Redis).
bench-dashboard: install
	$(BIN)/python bench/dashboard_bench.py

# Active learning core: training/selection speed, then the oracle simulation on GoEmotions and
# Davidson (../shared/datasets; about half an hour on 2 shared cores). Results in bench/out/learning/.
LEARNING_SIM_GOEMOTIONS ?= --strategies entropy,entropy@2+rare@1,entropy+rare,mixed --budget 2000 --batch 25 --audit 0.05 --spread 2 --seeds 0,1,2
LEARNING_SIM_DAVIDSON ?= --strategies margin,uncertainty,entropy+rare,mixed --budget 2000 --batch 25 --audit 0.05 --spread 2 --seeds 0,1,2,3,4
bench-learning: install
	$(BIN)/python bench/learning_bench.py
	$(BIN)/python manage.py simulate_learning --dataset goemotions $(LEARNING_SIM_GOEMOTIONS) --out bench/out/learning/goemotions
	$(BIN)/python manage.py simulate_learning --dataset davidson $(LEARNING_SIM_DAVIDSON) --out bench/out/learning/davidson

# Label-noise detection: injected noise in Davidson and GoEmotions, P/R/F1/AUROC + 50k timing
# (no database; hours on 2 shared cores: see bench/README.md for quicker runs).
bench-noise: install
	$(BIN)/python bench/noise_bench.py --timing

clean:
	rm -rf $(VENV) db.sqlite3* media staticfiles .pytest_cache .ruff_cache
