"""Shared fixtures: factories, role users, and the real Celery worker for real-service tests."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from annotation.models import Role
from tests.factories import CategoryFactory, ProjectFactory, member

ROOT = Path(__file__).resolve().parent.parent


def _on_postgres() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgresql"))


def pytest_collection_modifyitems(config, items):
    real = _on_postgres() and bool(os.environ.get("CELERY_BROKER_URL"))
    skip_real = pytest.mark.skip(
        reason="needs PostgreSQL + Redis + a Celery worker: runs in .ci/run's second pass "
        "(DATABASE_URL and CELERY_BROKER_URL set)"
    )
    skip_pg = pytest.mark.skip(
        reason="needs PostgreSQL (SELECT … FOR UPDATE SKIP LOCKED with real parallel "
        "connections); runs in .ci/run's second pass with DATABASE_URL set"
    )
    for item in items:
        if "real_services" in item.keywords and not real:
            item.add_marker(skip_real)
        if "postgres" in item.keywords and not _on_postgres():
            item.add_marker(skip_pg)


@pytest.fixture(autouse=True)
def _clear_cache():
    """Cached figures are keyed by project id, and ids repeat between tests."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def project(db):
    p = ProjectFactory(overlap=2)
    for i, name in enumerate(["Adult Content", "Violence", "Self-Harm", "Hate", "Social Media"]):
        CategoryFactory(
            project=p,
            name=name,
            hotkey=str(i + 1),
            order=i,
            sensitive=name in {"Self-Harm", "Violence"},
        )
    return p


@pytest.fixture
def lead(project):
    return member(project, Role.LEAD)


@pytest.fixture
def annotator(project):
    return member(project, Role.ANNOTATOR)


@pytest.fixture
def scientist(project):
    return member(project, Role.SCIENTIST)


@pytest.fixture
def outsider(db):
    from tests.factories import UserFactory

    return UserFactory()


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker process on the test database and the configured Redis broker.

    The test process stops running tasks eagerly for the duration, so `.delay()` goes through
    Redis to the worker.
    """
    from config.celery import app

    db_name = connection.settings_dict["NAME"]
    base_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    env = {
        **os.environ,
        "DATABASE_URL": f"{base_url}/{db_name}",
        "DJANGO_SETTINGS_MODULE": "config.settings.worker_test",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }
    app.control.purge()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"test-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    ready = False
    while time.monotonic() < deadline and proc.poll() is None:
        if app.control.ping(timeout=1.0):
            ready = True
            break
    if not ready:
        proc.kill()
        out = proc.stdout.read() if proc.stdout else ""
        raise RuntimeError(f"Celery worker did not start:\n{out[-4000:]}")
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield proc
    finally:
        app.conf.task_always_eager = previous
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
