"""The deployment files parse and describe the deployment the docs promise.

Docker cannot run in CI here, so docker-compose.yml is checked structurally: the services,
their healthchecks and start order, the volumes, and that every environment variable the
settings read is documented in .env.example. The production settings must refuse to start
without a secret key.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml  # PyYAML comes with drf-spectacular

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_every_service_with_healthchecks(compose):
    services = compose["services"]

    assert {"web", "worker", "beat", "db", "redis", "migrate"} <= set(services)
    assert services["db"]["image"] == "postgres:15"
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    assert services["redis"]["image"] == "redis:7"
    assert "ping" in services["redis"]["healthcheck"]["test"]
    assert "pgdata:/var/lib/postgresql/data" in services["db"]["volumes"]
    assert {"pgdata", "media"} <= set(compose["volumes"])


def test_app_services_wait_for_healthy_db_and_redis_and_for_migrations(compose):
    services = compose["services"]
    for name in ("web", "worker"):
        deps = services[name]["depends_on"]
        assert deps["db"]["condition"] == "service_healthy", name
        assert deps["redis"]["condition"] == "service_healthy", name
        assert deps["migrate"]["condition"] == "service_completed_successfully", name
    assert services["migrate"]["command"][-2:] == ["migrate", "--noinput"]
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_app_services_run_the_right_commands_from_env_file(compose):
    services = compose["services"]

    assert services["web"]["command"][:3] == ["gunicorn", "-c", "config/gunicorn.conf.py"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "config", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]
    for name in ("web", "worker", "beat", "migrate"):
        service = services[name]
        assert service["env_file"] == ".env", name
        assert service["environment"]["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
        assert "media:/data/media" in service["volumes"], name
    assert services["worker"]["environment"]["OMP_NUM_THREADS"] == "1"
    assert services["worker"]["environment"]["OPENBLAS_NUM_THREADS"] == "1"


def test_env_example_documents_every_variable_the_code_reads():
    documented = set(
        re.findall(r"^([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.MULTILINE)
    )
    read = set()
    for path in [*(ROOT / "config").rglob("*.py")]:
        read |= set(
            re.findall(
                r"(?:environ\.get|env_bool|environ\[|_int)\(?\s*\"([A-Z][A-Z0-9_]*)\"",
                path.read_text(),
            )
        )
    read.discard("DATABASE_URL")  # read by dj-database-url; checked below
    assert read, "the settings should read some variables"
    assert read <= documented, sorted(read - documented)
    assert {
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "CACHE_URL",
        "DJANGO_SETTINGS_MODULE",
    } <= documented


def test_dockerfile_runs_gunicorn_as_a_non_root_user():
    text = (ROOT / "Dockerfile").read_text()

    assert text.startswith("# ") and "FROM python:3.11-slim" in text
    assert "pip install ." in text and "collectstatic --noinput" in text
    assert re.search(r"^USER goldset$", text, re.MULTILINE)
    assert '"gunicorn", "-c", "config/gunicorn.conf.py"' in text


def test_gunicorn_config_reads_its_settings_from_the_environment():
    env = {**os.environ, "GUNICORN_WORKERS": "3", "GUNICORN_THREADS": "", "GUNICORN_BIND": "x:1"}
    code = (
        "import runpy; c = runpy.run_path('config/gunicorn.conf.py');"
        "print(c['workers'], c['threads'], c['bind'], c['worker_class'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    workers, threads, bind, worker_class = out.stdout.split()
    assert (workers, bind) == ("3", "x:1")
    assert int(threads) >= 1 and worker_class in {"gthread", "sync"}


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SECRET_KEY", "DATABASE_URL"}}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.production"
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_settings_start_with_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.production", DJANGO_SECRET_KEY="x" * 50)
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
