# goldset: `make run` serves the app on SQLite with tasks in-process; `make test` checks everything.
SHELL := /bin/bash
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export OMP_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS ?= 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test install migrate demo lint pytest worker beat bench-import bench-queue bench-agreement clean

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

# Agreement statistics: 100k items x 3 annotators x 10 categories, bootstrap CIs (no database).
bench-agreement: install
	$(BIN)/python bench/agreement_bench.py

clean:
	rm -rf $(VENV) db.sqlite3* media staticfiles .pytest_cache .ruff_cache
