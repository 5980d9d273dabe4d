"""Starting imports: store an uploaded file as a job, or import rows sent to the API."""

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from ...errors import Conflict, InvalidInput
from ...models import ImportJob, Project
from .jobs import import_execute
from .readers import FileProblem, RowsReader, format_detect
from .validate import mapping_normalise

STORE_CHUNK_BYTES = 1024 * 1024


class _HashingFile(File):
    """Hands the storage the file in chunks, hashing and counting them on the way."""

    def __init__(self, file, limit: int):
        super().__init__(file)
        self.sha256 = hashlib.sha256()
        self.bytes = 0
        self.limit = limit

    def chunks(self, chunk_size=None):
        self.file.seek(0)
        while chunk := self.file.read(STORE_CHUNK_BYTES):
            self.sha256.update(chunk)
            self.bytes += len(chunk)
            if self.bytes > self.limit:
                raise InvalidInput(_too_large(self.bytes, self.limit), code="file_too_large")
            yield chunk

    def multiple_chunks(self, chunk_size=None):
        return True


def _human(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)  # pragma: no cover


def _too_large(size: int, limit: int) -> str:
    return f"The file is {_human(size)}; the limit is {_human(limit)}. Nothing was imported."


def import_job_create(
    *,
    project: Project,
    created_by,
    uploaded_file: Any,
    original_name: str | None = None,
    mapping: dict | None = None,
    skip_bad_rows: bool = False,
    format: str | None = None,  # noqa: A002 (the brief's name for it)
    enqueue: bool = True,
) -> ImportJob:
    """Store the file (hashing it while it streams to storage) and queue its import.

    `uploaded_file` is a Django UploadedFile or a filesystem path. Raises InvalidInput for a
    file that cannot be imported at all (type, size, mapping) and Conflict when the same file
    was already imported into this project, or is being imported. With `enqueue=False` the
    caller runs `import_job_run` itself (the management command).
    """
    if isinstance(uploaded_file, (str, Path)):
        path = Path(uploaded_file)
        if not path.is_file():
            raise InvalidInput(f"No file at {path}.")
        name = original_name or path.name
        size = path.stat().st_size
        handle = open(path, "rb")  # noqa: SIM115 (closed below)
    else:
        name = original_name or os.path.basename(getattr(uploaded_file, "name", "") or "")
        size = uploaded_file.size
        handle = uploaded_file
    try:
        return _create(
            project, created_by, handle, name, size, mapping, skip_bad_rows, format, enqueue
        )
    finally:
        if handle is not uploaded_file:
            handle.close()


def _create(project, created_by, handle, name, size, mapping, skip_bad_rows, fmt, enqueue):
    name = (name or "upload").strip()
    try:
        fmt = format_detect(name=name, explicit=fmt or None)
        mapping = mapping_normalise(mapping)
    except FileProblem as exc:
        raise InvalidInput(str(exc), code="bad_file") from exc
    limit = settings.GOLDSET["IMPORT_MAX_FILE_BYTES"]
    if size > limit:
        raise InvalidInput(_too_large(size, limit), code="file_too_large")
    if size == 0:
        raise InvalidInput("The file is empty; nothing was imported.", code="empty_file")

    field = ImportJob._meta.get_field("file")
    target = field.generate_filename(None, _storage_name(name))
    content = _HashingFile(handle, limit)
    stored = default_storage.save(target, content)
    digest = content.sha256.hexdigest()
    try:
        _refuse_repeat(project, digest)
    except Conflict:
        default_storage.delete(stored)
        raise
    with transaction.atomic():
        job = ImportJob.objects.create(
            project=project,
            created_by=created_by,
            file=stored,
            original_name=name[:300],
            file_sha256=digest,
            file_size=content.bytes,
            format=fmt,
            mapping=mapping,
            skip_bad_rows=bool(skip_bad_rows),
        )
        if enqueue:
            from ...tasks import item_import_task

            transaction.on_commit(lambda: item_import_task.delay(job.pk))
    return job


def _storage_name(name: str) -> str:
    base = os.path.basename(name.replace("\\", "/")) or "upload"
    stem, dot, ext = base.rpartition(".")
    if dot and len(base) > 120:
        base = f"{stem[:100]}.{ext[:15]}"
    return base[:120]


def _refuse_repeat(project: Project, digest: str) -> None:
    same = ImportJob.objects.filter(project=project, file_sha256=digest)
    done = same.filter(status=ImportJob.Status.DONE).order_by("finished_at", "pk").first()
    if done is not None:
        when = timezone.localtime(done.finished_at or done.created_at)
        raise Conflict(
            f"This file was already imported on {when:%Y-%m-%d %H:%M} as import #{done.pk}; "
            "nothing was imported again.",
            code="already_imported",
        )
    busy = same.filter(status__in=[ImportJob.Status.PENDING, ImportJob.Status.RUNNING]).first()
    if busy is not None:
        raise Conflict(
            f"This file is being imported right now as import #{busy.pk}; nothing was "
            "imported again.",
            code="import_in_progress",
        )


def item_import_rows(
    *,
    project: Project,
    rows: list[dict],
    created_by,
    skip_bad_rows: bool = False,
    mapping: dict | None = None,
) -> ImportJob:
    """Import rows already parsed (the API's JSON bulk import), synchronously.

    The same validation and insert as a file import; row numbers in `errors` count from 1.
    Returns the job: `status` is done or failed, `message` and `errors` say why. Raises
    InvalidInput only when the request itself is unusable (not a list, bad mapping).
    """
    if not isinstance(rows, list):
        raise InvalidInput("Send the rows as a JSON list of objects.")
    if not rows:
        raise InvalidInput("There are no rows to import.")
    try:
        mapping = mapping_normalise(mapping)
    except FileProblem as exc:
        raise InvalidInput(str(exc)) from exc
    body = json.dumps(rows, sort_keys=True, default=str, ensure_ascii=False).encode(
        "utf-8", "surrogatepass"
    )
    now = timezone.now()
    job = ImportJob.objects.create(
        project=project,
        created_by=created_by,
        file="",
        original_name=f"API request ({len(rows):,} rows)",
        file_sha256=hashlib.sha256(body).hexdigest(),
        file_size=len(body),
        format=ImportJob.Format.JSONL,
        mapping=mapping,
        skip_bad_rows=bool(skip_bad_rows),
        status=ImportJob.Status.RUNNING,
        phase="validating",
        started_at=now,
    )
    return import_execute(job=job, reader=RowsReader(rows))
