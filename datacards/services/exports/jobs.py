"""Export jobs: create (or reuse) a job for a published version, run it in a Celery task.

Exports are of published versions only: a draft's card may still change, so its export would
not be reproducible. The same version and options always give the same bytes, so a job that is
pending, running or done (with its file present) is returned instead of a new one.

The run claims the job under a row lock (a task delivered twice runs once), writes into a
temporary folder under MEDIA_ROOT, moves the finished file into place and records its size and
SHA-256. No transaction stays open while rows stream: the version's rows are immutable, and
the job row shows progress as it goes. Files are served by a permission-checked view, never by a
public media URL.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from annotation.errors import Conflict, InvalidInput

from ...models import DatasetVersion, ExportJob
from .write import ExportSpec, HashMismatch, export_write, file_sha256

logger = logging.getLogger(__name__)

EXPORT_DIR = "datacards/exports"
STALE_AFTER = timedelta(hours=2)


def _send(job_id: int) -> None:
    from ...tasks import export_job_task

    export_job_task.delay(job_id)


def _spec(format: str, split: str, test_fraction, seed) -> ExportSpec:
    if format not in ExportJob.Format.values:
        raise InvalidInput(
            f"Unknown export format '{format}': one of {', '.join(ExportJob.Format.values)}.",
            code="bad_format",
        )
    if split not in ExportJob.Split.values:
        raise InvalidInput(
            f"Unknown split '{split}': one of {', '.join(ExportJob.Split.values)}.",
            code="bad_split",
        )
    try:
        test_fraction = float(test_fraction)
        seed = int(seed)
    except (TypeError, ValueError):
        raise InvalidInput("test_fraction must be a number and seed an integer.") from None
    if not 0.01 <= test_fraction <= 0.99:
        raise InvalidInput("test_fraction must be between 0.01 and 0.99.", code="bad_fraction")
    if not -(2**31) <= seed < 2**31:
        raise InvalidInput("seed must fit in 32 bits.", code="bad_seed")
    if split == ExportJob.Split.NONE:
        test_fraction, seed = 0.2, 0  # unused: one canonical job per format
    return ExportSpec(format=format, split=split, test_fraction=round(test_fraction, 4), seed=seed)


def export_job_create(
    *, version: DatasetVersion, user, format: str, split: str = "none", test_fraction=0.2, seed=0
) -> tuple[ExportJob, bool]:
    """(job, created). Reuses a live or finished job with the same options."""
    spec = _spec(format, split, test_fraction, seed)
    with transaction.atomic():
        locked = DatasetVersion.objects.select_for_update().get(pk=version.pk)
        if locked.status != DatasetVersion.Status.PUBLISHED:
            raise Conflict(
                f"Version {locked.number} is {locked.status}: publish it before exporting "
                "(a draft's card can still change, so its export would not be reproducible).",
                code="not_published",
            )
        same = ExportJob.objects.filter(
            version=locked,
            format=spec.format,
            split=spec.split,
            test_fraction=spec.test_fraction,
            seed=spec.seed,
            status__in=[ExportJob.Status.PENDING, ExportJob.Status.RUNNING, ExportJob.Status.DONE],
        ).first()
        if same is not None and (same.status != ExportJob.Status.DONE or _present(same)):
            return same, False
        job = ExportJob.objects.create(
            version=locked,
            format=spec.format,
            split=spec.split,
            test_fraction=spec.test_fraction,
            seed=spec.seed,
            created_by=user,
        )
        transaction.on_commit(lambda: _send(job.pk))
    return job, True


def _present(job: ExportJob) -> bool:
    return bool(job.file) and Path(job.file.path).exists()


def _claim(job_id: int) -> ExportJob | None:
    now = timezone.now()
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            return None
        stale = (
            job.status == ExportJob.Status.RUNNING
            and job.started_at is not None
            and job.started_at < now - STALE_AFTER
        )
        if job.status != ExportJob.Status.PENDING and not stale:
            return None
        job.status = ExportJob.Status.RUNNING
        job.started_at = now
        job.phase = "starting"
        job.progress = 0.0
        job.save(update_fields=["status", "started_at", "phase", "progress"])
    return job


def _report(job_id: int):
    def progress(phase: str, fraction: float) -> None:
        ExportJob.objects.filter(pk=job_id).update(
            phase=phase, progress=round(min(1.0, max(0.0, fraction)), 4)
        )

    return progress


def export_job_run(*, job_id: int) -> ExportJob | None:
    """Run a pending job; a job already claimed is left alone. Never raises for a failed
    export: the job records why."""
    job = _claim(job_id)
    if job is None:
        return ExportJob.objects.filter(pk=job_id).first()
    version = DatasetVersion.objects.get(pk=job.version_id)
    spec = ExportSpec(job.format, job.split, job.test_fraction, job.seed)
    final_dir = Path(settings.MEDIA_ROOT) / EXPORT_DIR / str(version.project_id) / str(job.pk)
    final_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".job{job.pk}-", dir=final_dir.parent))
    try:
        path, counts = export_write(
            version=version, spec=spec, folder=work, progress=_report(job.pk)
        )
        digest, size = file_sha256(path), path.stat().st_size
        if final_dir.exists():
            shutil.rmtree(final_dir)
        final_dir.mkdir()
        final = final_dir / path.name
        path.replace(final)
    except HashMismatch as exc:
        return _fail(job, str(exc))
    except Exception as exc:
        logger.exception("export %s stopped", job.pk)
        return _fail(job, f"The export stopped with an error ({type(exc).__name__}: {exc}).")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    job.file.name = str(final.relative_to(settings.MEDIA_ROOT))
    job.file_name = final.name
    job.file_size = size
    job.file_sha256 = digest
    job.split_counts = counts
    job.status = ExportJob.Status.DONE
    job.phase = "done"
    job.progress = 1.0
    job.finished_at = timezone.now()
    job.save()
    return job


def _fail(job: ExportJob, message: str) -> ExportJob:
    job.status = ExportJob.Status.FAILED
    job.error = message
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "finished_at"])
    return job
