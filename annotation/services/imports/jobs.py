"""Import jobs: store an upload, then validate every row and insert, all or nothing.

Pass 1 streams the file once: it validates each row, finds ids repeated in the file and ids
already in the project (in chunks on the unique index), and turns each valid new row into a
ready COPY line. If a row is bad and the job does not skip bad rows, nothing is committed.

- Two passes (SQLite, or a project that already has items): pass 1 runs outside any
  transaction and appends the lines to a temporary spool; pass 2 streams the spool into the
  table inside ONE transaction together with the job's final state.
- Direct (PostgreSQL, empty project): pass 1 runs inside the insert transaction and its lines
  go straight into COPY, so Python validates on one core while PostgreSQL inserts on the
  other; a rejected file aborts the COPY and the transaction rolls back.

While the insert transaction is open the job row cannot show progress, so progress goes to the
cache under `import-progress:<job id>`; `selectors.import_job_progress` merges the two.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from ...errors import NotFound
from ...models import Category, ImportJob, Item, Project
from .readers import FileProblem, Reader, reader_open
from .validate import RowCleaner, content_hash, mapping_resolve, priority_for
from .write import Spool, copy_stream, spool_insert

try:  # COPY raises psycopg's own errors, not Django's wrappers.
    import psycopg

    DB_ERRORS: tuple[type[Exception], ...] = (DatabaseError, psycopg.Error)
except ImportError:  # pragma: no cover
    DB_ERRORS = (DatabaseError,)

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 10_000
PROGRESS_TTL_SECONDS = 24 * 3600
EXISTING_CHUNK = 2_000
# A job left "running" this long (its worker died) may be claimed again; the insert is all or
# nothing, so running it again cannot import anything twice.
STALE_RUNNING_AFTER = timedelta(hours=4)

ProgressCallback = Callable[[dict], None]


def progress_key(job_id: int) -> str:
    return f"import-progress:{job_id}"


class _Progress:
    def __init__(self, job: ImportJob, callback: ProgressCallback | None):
        self.job_id = job.pk
        self.callback = callback

    def report(
        self,
        *,
        phase: str,
        processed: int,
        total: int | None,
        percent: float,
        status: str = ImportJob.Status.RUNNING,
    ) -> None:
        state = {
            "status": status,
            "phase": phase,
            "rows_processed": processed,
            "rows_total": total or 0,
            "percent": round(max(0.0, min(100.0, percent)), 1),
        }
        cache.set(progress_key(self.job_id), state, PROGRESS_TTL_SECONDS)
        if self.callback is not None:
            self.callback(state)


@dataclass
class _Checked:
    """What pass 1 found."""

    total: int = 0
    valid: int = 0
    unchanged: int = 0
    bad: int = 0
    errors: list[dict] = field(default_factory=list)

    def bad_row(self, line: int, reason: str, keep: int) -> None:
        self.bad += 1
        if len(self.errors) < keep:
            self.errors.append({"line": line, "reason": reason})


class _RowsChanged(Exception):
    """Pass 2 wrote a different number of rows than pass 1 accepted."""


def import_job_run(*, job_id: int, on_progress: ProgressCallback | None = None) -> ImportJob:
    """Claim a pending job and run it; a job already claimed is returned untouched.

    The claim (pending → running) happens under a row lock, so a task delivered twice runs
    the import once. Returns the job in its final state.
    """
    job = _claim(job_id)
    if job is None:
        return ImportJob.objects.get(pk=job_id)
    try:
        reader = reader_open(path=job.file.path, fmt=job.format)
    except (FileProblem, ValueError, NotImplementedError) as exc:
        return _fail(job, f"{exc} Nothing was imported.")
    return import_execute(job=job, reader=reader, on_progress=on_progress)


def _claim(job_id: int) -> ImportJob | None:
    now = timezone.now()
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            raise NotFound(f"No import #{job_id}.")
        stale = (
            job.status == ImportJob.Status.RUNNING
            and job.started_at is not None
            and job.started_at < now - STALE_RUNNING_AFTER
        )
        if job.status != ImportJob.Status.PENDING and not stale:
            return None
        job.status = ImportJob.Status.RUNNING
        job.phase = "validating"
        job.started_at = now
        job.save(update_fields=["status", "phase", "started_at"])
    return job


def import_execute(
    *, job: ImportJob, reader: Reader, on_progress: ProgressCallback | None = None
) -> ImportJob:
    """Run both passes for a job already marked running. Never raises for bad input: the job
    records what happened."""
    progress = _Progress(job, on_progress)
    try:
        return _execute(job, reader, progress)
    except FileProblem as exc:
        return _fail(job, f"{exc} Nothing was imported.")
    except _Rejected as exc:
        return _fail(job, str(exc))
    except _RowsChanged:
        return _fail(job, "Rows were lost between validating and inserting; nothing was imported.")
    except DB_ERRORS as exc:
        return _fail(job, _database_message(exc))
    except Exception as exc:
        logger.exception("import #%s stopped", job.pk)
        return _fail(
            job,
            f"The import stopped with an unexpected error ({type(exc).__name__}: {exc}); "
            "nothing was imported.",
        )


def _execute(job: ImportJob, reader: Reader, progress: _Progress) -> ImportJob:
    project = Project.objects.get(pk=job.project_id)
    columns = reader.columns()
    mapping = mapping_resolve(job.mapping, columns, sparse=reader.format == "jsonl")
    categories = list(
        Category.objects.filter(project=project)
        .order_by("order", "id")
        .values_list("name", flat=True)
    )
    cleaner = RowCleaner(
        mapping=mapping,
        columns=columns if reader.format != "jsonl" else [],
        categories=categories,
        text_max_chars=settings.GOLDSET["ITEM_TEXT_MAX_CHARS"],
    )
    job.mapping = mapping.as_dict()
    now = timezone.now()
    if connection.vendor == "postgresql" and not Item.objects.filter(project=project).exists():
        written = _run_direct(job, project, reader, cleaner, progress, now)
    else:
        written = _run_spooled(job, project, reader, cleaner, progress, now)
    _report_final(job, progress)
    logger.info("import #%s: %s items imported", job.pk, written)
    return job


class _Rejected(Exception):
    """Pass 1 found bad rows and the job does not skip them."""


def _run_spooled(job, project, reader, cleaner, progress, now) -> int:
    """Two passes: validate into a spool file, then insert it in one transaction."""
    spool = Spool(project_id=project.pk, job_id=job.pk, overlap=project.overlap, now=now)
    try:
        checked = _check_pass(project, reader, cleaner, spool, progress, check_existing=True)
        _record(job, checked)
        return _insert_pass(job, project, spool, checked, progress)
    finally:
        spool.close()


def _run_direct(job, project, reader, cleaner, progress, now) -> int:
    """PostgreSQL, project still empty: validate and COPY at the same time (Python on one
    core, the database on the other), in one transaction that is rolled back if any row turns
    out bad. Nothing from a rejected file is ever committed; there is nothing in the project
    to check ids against (a concurrent import's ids still hit the unique index)."""
    with transaction.atomic():
        with copy_stream(
            project_id=project.pk, job_id=job.pk, overlap=project.overlap, now=now
        ) as sink:
            checked = _check_pass(
                project, reader, cleaner, sink, progress, check_existing=False, share=100
            )
            _record(job, checked)  # raises inside the COPY: it is aborted, then rolled back
        if sink.rows != checked.valid:
            raise _RowsChanged
        _mark_done(job, sink.rows)
    cache.delete(f"queue-remaining:{project.pk}")
    return sink.rows


def _record(job: ImportJob, checked: _Checked) -> None:
    """Copy pass 1's counts to the job; raise when the import must stop here."""
    if checked.total == 0:
        raise FileProblem("The file has no rows to import.")
    job.rows_total = checked.total
    job.rows_processed = checked.total
    job.rows_bad = checked.bad
    job.rows_unchanged = checked.unchanged
    job.errors = sorted(checked.errors, key=lambda e: e["line"])
    if checked.bad and not job.skip_bad_rows:
        rows = "1 bad row" if checked.bad == 1 else f"{checked.bad:,} bad rows"
        raise _Rejected(f"{rows}; nothing was imported. Fix them or choose 'skip bad rows'.")


def _mark_done(job: ImportJob, written: int) -> None:
    """Inside the insert transaction: the job is done exactly when its items commit."""
    job.status = ImportJob.Status.DONE
    job.phase = "done"
    job.rows_imported = written
    job.message = _done_message(job)
    job.finished_at = timezone.now()
    job.save()


def _check_pass(
    project: Project,
    reader: Reader,
    cleaner: RowCleaner,
    spool: Spool,
    progress: _Progress,
    *,
    check_existing: bool,
    share: float = 50,
) -> _Checked:
    """Pass 1: validate every row; spool the valid new ones as COPY lines. `share` is the
    part of the progress bar this pass fills."""
    checked = _Checked()
    keep = settings.GOLDSET["IMPORT_MAX_ERRORS_KEPT"]
    check_existing = check_existing and Item.objects.filter(project=project).exists()
    phase = "validating" if share < 100 else "importing"
    uniform = reader.format != "jsonl"
    project_id = project.pk
    first_line: dict[str, int] = {}
    pending: list[tuple[str, str, int, bytes]] = []
    progress.report(phase=phase, processed=0, total=None, percent=0)
    for line, row in reader.rows():
        checked.total += 1
        if checked.total % PROGRESS_EVERY == 0:
            done = reader.position() or 0.0
            progress.report(phase=phase, processed=checked.total, total=None, percent=share * done)
        result = row if type(row) is str else cleaner.clean(row, uniform_columns=uniform)
        if type(result) is str:
            checked.bad_row(line, result, keep)
            continue
        external_id = result.external_id
        try:
            digest = content_hash(result.text, result.url)
            data = spool.encode(result, digest, priority_for(project_id, external_id))
        except UnicodeEncodeError:
            checked.bad_row(
                line,
                "characters that are not valid Unicode (a lone surrogate such as \\ud800)",
                keep,
            )
            continue
        first = first_line.setdefault(external_id, line)
        if first != line:
            checked.bad_row(line, f"id '{external_id}' also on line {first}", keep)
        elif check_existing:
            pending.append((external_id, digest, line, data))
            if len(pending) >= EXISTING_CHUNK:
                _check_existing(project, pending, checked, spool, keep)
                pending = []
        else:
            checked.valid += 1
            spool.add(data)
    if pending:
        _check_existing(project, pending, checked, spool, keep)
    return checked


def _check_existing(
    project: Project,
    pending: list[tuple[str, str, int, bytes]],
    checked: _Checked,
    spool: Spool,
    keep: int,
) -> None:
    """Rows whose id is already in the project: same content → unchanged, else bad."""
    existing = dict(
        Item.objects.filter(project=project, external_id__in=[p[0] for p in pending]).values_list(
            "external_id", "content_hash"
        )
    )
    for external_id, digest, line, data in pending:
        known = existing.get(external_id)
        if known is None:
            checked.valid += 1
            spool.add(data)
        elif known == digest:
            checked.unchanged += 1
        else:
            checked.bad_row(
                line,
                f"id '{external_id}' already exists in the project with different text (or URL)",
                keep,
            )


def _insert_pass(
    job: ImportJob, project: Project, spool: Spool, checked: _Checked, progress: _Progress
) -> int:
    """Pass 2: insert the spooled rows and mark the job done, in one transaction."""
    total = checked.total

    def report(share: float) -> None:
        progress.report(
            phase="inserting", processed=round(total * share), total=total, percent=50 + 50 * share
        )

    report(0.0)
    with transaction.atomic():
        written = spool_insert(
            spool, batch_size=settings.GOLDSET["IMPORT_BATCH_SIZE"], on_progress=report
        )
        if written != checked.valid:
            raise _RowsChanged
        _mark_done(job, written)
    cache.delete(f"queue-remaining:{project.pk}")
    return written


def _done_message(job: ImportJob) -> str:
    parts = [f"Imported {job.rows_imported:,} item{'s' if job.rows_imported != 1 else ''}."]
    if job.rows_unchanged:
        parts.append(f"{job.rows_unchanged:,} unchanged (already in the project) left as they are.")
    if job.rows_bad:
        parts.append(f"{job.rows_bad:,} bad row{'s' if job.rows_bad != 1 else ''} skipped.")
    return " ".join(parts)


def _report_final(job: ImportJob, progress: _Progress) -> None:
    progress.report(
        phase=job.phase,
        processed=job.rows_processed,
        total=job.rows_total,
        percent=100,
        status=job.status,
    )


def _fail(job: ImportJob, message: str) -> ImportJob:
    """Record why nothing was imported (the counts pass 1 found, if it ran, are kept)."""
    job.status = ImportJob.Status.FAILED
    job.phase = "failed"
    job.message = message
    job.rows_imported = 0
    job.finished_at = timezone.now()
    job.save()
    _report_final(job, _Progress(job, None))
    return job


def _database_message(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "unique" in text.lower() or "duplicate key" in text.lower():
        return (
            "Another import added some of these ids while this one ran, so nothing was "
            "imported. Upload the file again: rows already in the project will be left as "
            f"they are. (Database: {text})"
        )
    return f"The database refused the import ({text}); nothing was imported."
