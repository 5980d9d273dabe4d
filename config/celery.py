"""The Celery application.

Without CELERY_BROKER_URL (the embedded default) tasks run eagerly in the calling process, so
`make run` needs no broker. With it, tasks go to Redis and real workers run them.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("goldset")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
