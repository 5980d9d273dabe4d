# goldset: `make run` serves the app on SQLite with tasks in-process; `make test` checks everything.
SHELL := /bin/bash
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export OMP_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS ?= 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test install migrate demo lint pytest worker beat bench-import bench-queue bench-agreement bench-dashboard bench-datacards bench-learning bench-learning-sim bench-noise clean

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

# Active learning core: training/selection speed, then the oracle simulation on Davidson and
# GoEmotions (../shared/datasets): each dataset's seeds split over two processes (one per core)
# and merged with --from-runs. About 2 hours on 2 quiet cores. Results in bench/out/learning/.
LEARNING_SIM_DAVIDSON ?= --strategies margin --budget 4000 --batch 25 --audit 0.05 --spread 2
LEARNING_SIM_DAVIDSON_SEEDS ?= 0,1,2,3,4 5,6,7,8,9
LEARNING_SIM_GOEMOTIONS ?= --strategies entropy,entropy@2+rare@1,boundary --budget 4000 --batch 25 --audit 0.05 --spread 2
LEARNING_SIM_GOEMOTIONS_SEEDS ?= 0,1,2 3,4,5
SIM := $(BIN)/python manage.py simulate_learning
bench-learning: install
	$(BIN)/python bench/learning_bench.py
	$(MAKE) bench-learning-sim

bench-learning-sim: install
	mkdir -p bench/out/learning
	set -e; for d in davidson goemotions; do \
	  if [ $$d = davidson ]; then args="$(LEARNING_SIM_DAVIDSON)"; seeds="$(LEARNING_SIM_DAVIDSON_SEEDS)"; \
	  else args="$(LEARNING_SIM_GOEMOTIONS)"; seeds="$(LEARNING_SIM_GOEMOTIONS_SEEDS)"; fi; \
	  pids=; dirs=; n=0; \
	  for s in $$seeds; do n=$$((n+1)); out=bench/out/learning/$$d-part$$n; dirs="$$dirs,$$out"; \
	    $(SIM) --dataset $$d $$args --seeds $$s --out $$out > $$out.log 2>&1 & pids="$$pids $$!"; done; \
	  for p in $$pids; do wait $$p; done; \
	  $(SIM) --dataset $$d --from-runs $${dirs#,} --out bench/out/learning/$$d; \
	done

# Label-noise detection: injected noise in Davidson and GoEmotions, P/R/F1/AUROC + 50k timing
# (no database; hours on 2 shared cores: see bench/README.md for quicker runs).
bench-noise: install
	$(BIN)/python bench/noise_bench.py --timing

clean:
	rm -rf $(VENV) db.sqlite3* media staticfiles .pytest_cache .ruff_cache
