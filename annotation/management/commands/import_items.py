"""`manage.py import_items <project-slug> <file>`: import a file synchronously, in-process.

Creates the import job like an upload does, then runs it here instead of through Celery,
printing progress and every recorded bad row. Exits with status 1 when nothing was imported
because of errors.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from annotation.errors import ServiceError
from annotation.models import ImportJob, Project
from annotation.services.imports import import_job_create, import_job_run


class Command(BaseCommand):
    help = "Import items into a project from a CSV, JSON Lines or Parquet file."

    def add_arguments(self, parser):
        parser.add_argument("project", help="project slug")
        parser.add_argument("file", help="path to a .csv, .jsonl or .parquet file")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="FIELD=COLUMN",
            help="column for id, text, url, title, labels or metadata (a,b,c or *); repeatable",
        )
        parser.add_argument("--format", choices=["csv", "jsonl", "parquet"], default=None)
        parser.add_argument(
            "--skip-bad-rows",
            action="store_true",
            help="import the good rows and list the bad ones",
        )
        parser.add_argument("--user", default=None, help="username recorded as the importer")

    def handle(self, *args, **opts):
        project = Project.objects.filter(slug=opts["project"]).first()
        if project is None:
            raise CommandError(f"No project with the slug '{opts['project']}'.")
        user = None
        if opts["user"]:
            user = get_user_model().objects.filter(username=opts["user"]).first()
            if user is None:
                raise CommandError(f"No user named '{opts['user']}'.")
        mapping = {}
        for item in opts["map"]:
            field, sep, column = item.partition("=")
            if not sep or not field.strip():
                raise CommandError(f"--map takes FIELD=COLUMN, not '{item}'.")
            mapping[field.strip()] = column.strip()
        try:
            job = import_job_create(
                project=project,
                created_by=user,
                uploaded_file=opts["file"],
                mapping=mapping,
                skip_bad_rows=opts["skip_bad_rows"],
                format=opts["format"],
                enqueue=False,
            )
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Import #{job.pk}: {job.original_name} ({job.file_size:,} bytes)")
        job = import_job_run(job_id=job.pk, on_progress=self._progress)
        counts = self._report(job)
        if job.status != ImportJob.Status.DONE:
            raise CommandError(f"Import failed: {job.message} ({counts})")

    def _progress(self, state: dict) -> None:
        if state["status"] != ImportJob.Status.RUNNING:
            return
        total = f"/{state['rows_total']:,}" if state["rows_total"] else ""
        self.stdout.write(
            f"  {state['phase']}: {state['rows_processed']:,}{total} rows ({state['percent']:.0f}%)"
        )

    def _report(self, job: ImportJob) -> str:
        for error in job.errors:
            self.stdout.write(f"line {error['line']}: {error['reason']}")
        if job.rows_bad > len(job.errors):
            self.stdout.write(f"… and {job.rows_bad - len(job.errors):,} more bad rows.")
        counts = (
            f"rows {job.rows_total:,}, imported {job.rows_imported:,}, "
            f"unchanged {job.rows_unchanged:,}, bad {job.rows_bad:,}"
        )
        if job.status == ImportJob.Status.DONE:
            self.stdout.write(self.style.SUCCESS(f"{job.message} ({counts})"))
        return counts
