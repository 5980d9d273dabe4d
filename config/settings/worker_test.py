"""A Celery worker started by the test suite: test settings, but tasks really queued."""

from .test import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = False
