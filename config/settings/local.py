"""`make run`: SQLite by default, debug on, a fixed development secret."""

import os

from .base import *  # noqa: F403
from .base import env_bool

DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or "dev-only-insecure-key-do-not-use-in-production"
ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost"]  # noqa: F405
# runserver serves static files from the finders; `collectstatic` is for production.
STATIC_ROOT = None
