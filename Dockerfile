# goldset web, Celery worker and beat image (one image, three commands; see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OMP_NUM_THREADS=1 \
    OPENBLAS_NUM_THREADS=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    GOLDSET_MEDIA_ROOT=/data/media

WORKDIR /app

# Dependencies first (pinned in pyproject.toml) so code changes do not reinstall them.
COPY pyproject.toml ./
RUN pip install .

COPY . .

# Static files are collected into the image and served by whitenoise. The settings refuse to
# load without a secret key, so a throw-away one is given for this build step only.
RUN DJANGO_SECRET_KEY=collectstatic-only-not-a-real-secret python manage.py collectstatic --noinput

# Run as an unprivileged user; only the media folder (uploaded import files) is writable.
RUN groupadd --system goldset \
    && useradd --system --gid goldset --home-dir /app --no-create-home goldset \
    && mkdir -p /data/media \
    && chown -R goldset:goldset /data/media
USER goldset

EXPOSE 8000
CMD ["gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi:application"]
