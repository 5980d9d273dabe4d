"""Writing validated rows: a spool of COPY text lines, then one COPY (or bulk_create).

Pass 1 turns each valid row into one line of PostgreSQL's COPY text format and appends it to a
temporary spool file, so the per-row Python work (hashing, priority, JSON, escaping) happens
once. Pass 2 streams the spool into `COPY annotation_item FROM STDIN` in 1 MB chunks; on SQLite
it decodes the same lines into batched `bulk_create` calls.

COPY bypasses the ORM, so every column with a Python-side default (created_at, open_slots,
annotation_count) is written explicitly.
"""

import json
import logging
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from ...models import ImportJob, Item, Project
from .validate import CleanRow

COPY_COLUMNS = (
    "external_id",
    "text",
    "url",
    "title",
    "metadata",
    "prior_labels",
    "content_hash",
    "priority",
    "project_id",
    "import_job_id",
    "annotation_count",
    "open_slots",
    "created_at",
)
CHUNK_BYTES = 1024 * 1024
NULL = "\\N"

logger = logging.getLogger(__name__)


def _escape(value: str) -> str:
    """COPY text format: backslash, newline, carriage return and tab are escaped."""
    if "\\" in value or "\n" in value or "\r" in value or "\t" in value:
        value = (
            value.replace("\\", "\\\\")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
            .replace("\t", "\\t")
        )
    return value


_UNESCAPES = {"\\": "\\", "n": "\n", "r": "\r", "t": "\t"}


def _unescape(value: str) -> str:
    if "\\" not in value:
        return value
    out = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            out.append(_UNESCAPES.get(value[i + 1], value[i + 1]))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


class Spool:
    """Valid rows of one import as COPY text lines: in a temporary file (bounded memory), or,
    given `stream` (an open COPY), sent straight to the database in 1 MB chunks."""

    def __init__(
        self, *, project_id: int, job_id: int | None, overlap: int, now: datetime, stream=None
    ):
        self._stream = stream
        self._buffer = bytearray()
        self.file = (
            None if stream is not None else tempfile.TemporaryFile(prefix="goldset-import-")  # noqa: SIM115 (close())
        )
        self.project_id = project_id
        self.job_id = job_id
        job = NULL if job_id is None else str(job_id)
        self.suffix = f"\t{project_id}\t{job}\t0\t{overlap}\t{now.isoformat()}\n"
        self.rows = 0

    def encode(self, row: CleanRow, digest: str, priority: float) -> bytes:
        """The row's COPY line. Raises UnicodeEncodeError for lone surrogates (JSON escapes
        like \\ud800), which no UTF-8 database can store."""
        labels = NULL if row.labels_json is None else _escape(row.labels_json)
        return (
            f"{_escape(row.external_id)}\t{_escape(row.text)}\t{_escape(row.url)}\t"
            f"{_escape(row.title)}\t{_escape(row.metadata_json)}\t{labels}\t{digest}\t"
            f"{priority!r}{self.suffix}"
        ).encode()

    def add(self, line: bytes) -> None:
        if self._stream is None:
            self.file.write(line)
        else:
            self._buffer += line
            if len(self._buffer) >= CHUNK_BYTES:
                self._stream.write(self._buffer)
                self._buffer = bytearray()
        self.rows += 1

    def flush(self) -> None:
        if self._stream is not None and self._buffer:
            self._stream.write(self._buffer)
            self._buffer = bytearray()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


def _copy_sql() -> str:
    return f"COPY {Item._meta.db_table} ({', '.join(COPY_COLUMNS)}) FROM STDIN"


@contextmanager
def copy_stream(
    *, project_id: int, job_id: int | None, overlap: int, now: datetime
) -> Iterator[Spool]:
    """PostgreSQL: a Spool whose rows go straight into one COPY while the caller validates.

    Precondition: an open transaction. An exception inside the block aborts the COPY and
    reaches the caller, whose transaction rollback then discards every row sent, so nothing
    is ever committed from a rejected file.
    """
    triggers_off = _foreign_key_checks_once(project_id=project_id, job_id=job_id)
    with connection.cursor() as cursor, cursor.cursor.copy(_copy_sql()) as copy:
        spool = Spool(project_id=project_id, job_id=job_id, overlap=overlap, now=now, stream=copy)
        yield spool
        spool.flush()
    if triggers_off:
        _triggers_on()


def _triggers_on() -> None:
    # Back on at once: the caller's transaction may go on to write tables whose triggers
    # matter (the append-only label log).
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = origin")


def spool_insert(
    spool: Spool, *, batch_size: int, on_progress: Callable[[float], None] | None = None
) -> int:
    """Insert every spooled row; returns how many.

    Precondition: the caller holds one open transaction around this call, so the import is all
    or nothing. Errors (a unique violation when a concurrent import added the same id) surface
    from here and roll that transaction back.
    """
    spool.file.flush()
    size = spool.file.tell() or 1
    spool.file.seek(0)
    if connection.vendor == "postgresql":
        done = 0
        triggers_off = _foreign_key_checks_once(project_id=spool.project_id, job_id=spool.job_id)
        with connection.cursor() as cursor, cursor.cursor.copy(_copy_sql()) as copy:
            while chunk := spool.file.read(CHUNK_BYTES):
                copy.write(chunk)
                done += len(chunk)
                if on_progress is not None:
                    on_progress(done / size)
        if triggers_off:
            _triggers_on()
        return spool.rows
    return _bulk_create(spool, size=size, batch_size=batch_size, on_progress=on_progress)


def _foreign_key_checks_once(*, project_id: int, job_id: int | None) -> bool:
    """Check the two foreign keys once instead of once per row.

    PostgreSQL checks item.project_id and item.import_job_id with a trigger query per inserted
    row; measured here that is ~70% of the database's work in a bulk import. Every spooled row
    references the same project and job, so this locks both rows (FOR KEY SHARE, the lock the
    per-row check takes: neither can be deleted until the import commits) and, when the
    database role may, turns the per-row triggers off for this transaction only
    (`SET LOCAL session_replication_role = replica`). Without that privilege the per-row checks
    simply stay on. Item has no triggers of its own; if it gets some, turn this off with
    GOLDSET["IMPORT_CHECK_FOREIGN_KEYS_ONCE"] = False. Returns whether the triggers are off
    (the caller turns them back on right after the COPY).
    """
    if not settings.GOLDSET.get("IMPORT_CHECK_FOREIGN_KEYS_ONCE", True):
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {Project._meta.db_table} WHERE id = %s FOR KEY SHARE",  # noqa: S608
            [project_id],
        )
        project_ok = cursor.fetchone() is not None
        job_ok = True
        if job_id is not None:
            cursor.execute(
                f"SELECT 1 FROM {ImportJob._meta.db_table} WHERE id = %s FOR KEY SHARE",  # noqa: S608
                [job_id],
            )
            job_ok = cursor.fetchone() is not None
    if not (project_ok and job_ok):
        return False  # leave the per-row checks on: they will report the missing row
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        logger.info("import: no privilege to set session_replication_role; FKs checked per row")
        return False
    return True


def _bulk_create(
    spool: Spool, *, size: int, batch_size: int, on_progress: Callable[[float], None] | None
) -> int:
    batch: list[Item] = []
    written = 0
    for raw in spool.file:
        f = raw.decode().rstrip("\n").split("\t")
        batch.append(
            Item(
                external_id=_unescape(f[0]),
                text=_unescape(f[1]),
                url=_unescape(f[2]),
                title=_unescape(f[3]),
                metadata=json.loads(_unescape(f[4])),
                prior_labels=None if f[5] == NULL else json.loads(_unescape(f[5])),
                content_hash=f[6],
                priority=float(f[7]),
                project_id=int(f[8]),
                import_job_id=None if f[9] == NULL else int(f[9]),
                annotation_count=0,
                open_slots=int(f[11]),
                created_at=datetime.fromisoformat(f[12]),
            )
        )
        if len(batch) >= batch_size:
            Item.objects.bulk_create(batch)
            written += len(batch)
            batch = []
            if on_progress is not None:
                on_progress(spool.file.tell() / size)
    if batch:
        Item.objects.bulk_create(batch)
        written += len(batch)
    return written
