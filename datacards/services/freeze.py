"""Freezing a version: copy the project's gold-labeled items into immutable version rows.

One transaction (REPEATABLE READ on PostgreSQL, so every read sees the same moment while
annotators keep working; SQLite's transaction is serialisable anyway) does:

1. count the items to freeze (items with a current gold label, label state gold, not gold
   questions), give pseudonyms to annotators and deciding leads met for the first time, and
   read the labeled fraction f of every model run's batch in one aggregate query over the
   picks (`batches.py`): a row's weight is 1/(π·f);
2. stream four reads (items with their gold label, gold categories, annotations, annotation
   categories), each ordered by item id (index order: nothing wide is sorted), through
   server-side cursors and merge them, so memory stays flat at a million items. Each merged
   row is written out in batches (COPY on PostgreSQL, executemany on SQLite), its canonical
   line is appended to a temporary spool file, and the card's running figures are updated;
3. hash the canonical lines in canonical order (code point order of external ids): only the
   ids, offsets and lengths are sorted in memory, the lines are read back from the spool;
4. store the card, the counts and the hash and turn the version into a draft.

Timestamps are read as canonical text (no per-row datetime parsing), and the annotations' time
span comes from one aggregate query. A failure rolls the transaction back (no rows), and the
version is marked failed with the message. Progress goes through the cache while the
transaction is open.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from array import array
from datetime import timedelta

from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from annotation.errors import InvalidInput
from annotation.models import Annotation, Category, GoldLabel, Item, Project

from ..canonical import metadata_canonical
from ..models import AnnotatorPseudonym, DatasetVersion
from .batches import batch_fractions
from .card import CardAccumulator, card_build
from .rows import RowBuilder, RowWriter
from .stream import stream

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 20_000
SPOOL_CHUNK = 1 << 20
PROGRESS_TTL = 24 * 3600
# A freeze left running this long (its worker died) may be claimed again; it is all or nothing.
STALE_AFTER = timedelta(hours=2)
NOTHING_TO_FREEZE = (
    "Nothing to freeze: the project has no items with a gold label yet (gold questions do not "
    "count). Label and consolidate some items first."
)

ITEM = Item._meta.db_table
GOLD = GoldLabel._meta.db_table
GOLD_CATS = GoldLabel.categories.through._meta.db_table
ANN = Annotation._meta.db_table
ANN_CATS = Annotation.categories.through._meta.db_table

ELIGIBLE = "i.project_id = %s AND i.label_state = 'gold' AND i.is_gold_question = %s"


def _sql() -> dict[str, str]:
    """The freeze's statements for the current database: canonical order and timestamp text."""
    postgres = connection.vendor == "postgresql"
    gold_at = (
        "to_char(g.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
        if postgres
        else "g.created_at"
    )
    cats_agg = (
        "array_remove(array_agg(ac.category_id), NULL)"
        if postgres
        else "group_concat(ac.category_id)"
    )
    return {
        "count": f"SELECT COUNT(*) FROM {ITEM} i WHERE {ELIGIBLE}",  # noqa: S608 (our tables)
        "items": f"""
            SELECT i.id, i.external_id, i.id, i.text, i.url, i.title, i.metadata, i.content_hash,
                   i.selection_reason, i.selection_run_id, i.inclusion_probability,
                   g.none_of_these, g.source, g.decided_by_id, g.rationale, g.guideline_ref,
                   g.guidelines_version, {gold_at}
            FROM {ITEM} i JOIN {GOLD} g ON g.item_id = i.id AND g.current = %s
            WHERE {ELIGIBLE} ORDER BY i.id""",  # noqa: S608
        "gold_cats": f"""
            SELECT g.item_id, gc.category_id FROM {GOLD_CATS} gc
            JOIN {GOLD} g ON g.id = gc.goldlabel_id
            JOIN {ITEM} i ON i.id = g.item_id
            WHERE g.current = %s AND {ELIGIBLE} ORDER BY g.item_id""",  # noqa: S608
        # Each annotation with its categories aggregated (an array on PostgreSQL, "3,5" text
        # on SQLite): one stream instead of two to merge.
        "annotations": f"""
            SELECT a.item_id, a.id, a.annotator_id, a.none_of_these, a.unsure, {cats_agg}
            FROM {ANN} a JOIN {ITEM} i ON i.id = a.item_id
            LEFT JOIN {ANN_CATS} ac ON ac.annotation_id = a.id
            WHERE {ELIGIBLE} GROUP BY a.id ORDER BY a.item_id, a.id""",  # noqa: S608
        "span": f"""
            SELECT MIN(a.created_at), MAX(a.created_at)
            FROM {ANN} a JOIN {ITEM} i ON i.id = a.item_id WHERE {ELIGIBLE}""",  # noqa: S608
        "people": f"""
            SELECT a.annotator_id FROM {ANN} a JOIN {ITEM} i ON i.id = a.item_id
            WHERE {ELIGIBLE}
            UNION
            SELECT g.decided_by_id FROM {GOLD} g JOIN {ITEM} i ON i.id = g.item_id
            WHERE g.current = %s AND g.decided_by_id IS NOT NULL AND {ELIGIBLE}""",  # noqa: S608
    }


# --- progress -----------------------------------------------------------------------------


def progress_key(version_id: int) -> str:
    return f"datacards-freeze:{version_id}"


def _progress(version_id: int, phase: str, done: int, total: int) -> None:
    fraction = done / total if total else 0.0
    cache.set(
        progress_key(version_id),
        {"phase": phase, "done": done, "total": total, "fraction": round(min(1.0, fraction), 4)},
        PROGRESS_TTL,
    )


# --- claim / fail -------------------------------------------------------------------------


def _claim(version_id: int) -> DatasetVersion | None:
    now = timezone.now()
    with transaction.atomic():
        version = DatasetVersion.objects.select_for_update().filter(pk=version_id).first()
        if version is None or version.status != DatasetVersion.Status.FREEZING:
            return None
        if version.started_at is not None and version.started_at > now - STALE_AFTER:
            return None  # another worker has it
        version.started_at = now
        version.save(update_fields=["started_at"])
    return version


def _fail(version_id: int, message: str) -> None:
    with transaction.atomic():
        version = DatasetVersion.objects.select_for_update().get(pk=version_id)
        if version.status == DatasetVersion.Status.FREEZING:
            version.status = DatasetVersion.Status.FAILED
            version.error = message
            version.save(update_fields=["status", "error"])
    cache.delete(progress_key(version_id))


def version_freeze_run(*, version_id: int) -> DatasetVersion:
    """Claim a freezing version and freeze it; a version already claimed (and not stale) or
    no longer freezing is returned untouched. Never raises for bad input: the version records
    what happened."""
    version = _claim(version_id)
    if version is None:
        return DatasetVersion.objects.get(pk=version_id)
    try:
        _freeze(version)
    except InvalidInput as exc:
        _fail(version.pk, exc.message)
    except Exception as exc:
        logger.exception("freeze of version %s stopped", version.pk)
        _fail(version.pk, f"The freeze stopped with an error ({type(exc).__name__}: {exc}).")
    return DatasetVersion.objects.get(pk=version.pk)


# --- the freeze ---------------------------------------------------------------------------


def _freeze(version: DatasetVersion) -> None:
    project = Project.objects.get(pk=version.project_id)
    categories = list(Category.objects.filter(project=project).order_by("order", "id"))
    own_transaction = not connection.in_atomic_block  # inside a test's, the level is not ours
    sql = _sql()
    with transaction.atomic():
        if connection.vendor == "postgresql" and own_transaction:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                # The id-ordered reads of annotations sort narrow rows; in memory, not on disk.
                cursor.execute("SET LOCAL work_mem = '128MB'")
        locked = DatasetVersion.objects.select_for_update().get(pk=version.pk)
        if locked.status != DatasetVersion.Status.FREEZING:
            return
        eligible = [project.pk, False]
        with connection.cursor() as cursor:
            cursor.execute(sql["count"], eligible)
            total = cursor.fetchone()[0]
            if not total:
                raise InvalidInput(NOTHING_TO_FREEZE, code="nothing_to_freeze")
            cursor.execute(sql["span"], eligible)
            span = cursor.fetchone()
        _progress(version.pk, "freezing", 0, total)
        pseudonyms = _pseudonyms(project, eligible, sql["people"])
        batches = batch_fractions(project_id=project.pk)
        acc = CardAccumulator(category_names=[c.name for c in categories])
        acc.first_annotation, acc.last_annotation = span
        builder = RowBuilder(
            categories=categories,
            pseudonyms=pseudonyms,
            acc=acc,
            fractions={
                run_id: batch.fraction
                for run_id, batch in batches.items()
                if batch.fraction is not None
            },
        )
        written, digest = _copy_rows(version.pk, eligible, builder, total, sql)
        if written != total:
            raise RuntimeError(f"{total} items to freeze, {written} written")
        now = timezone.now()
        meta = {
            "number": locked.number,
            "parent": locked.parent.number if locked.parent_id else None,
            "created_by": locked.created_by.get_username(),
            "frozen_at": now.isoformat().replace("+00:00", "Z"),
            "content_hash": digest,
        }
        locked.card = card_build(
            acc=acc, project=project, categories=categories, version_meta=meta, batches=batches
        )
        locked.status = DatasetVersion.Status.DRAFT
        locked.frozen_at = now
        locked.content_hash = digest
        locked.item_count = written
        locked.annotation_count = acc.annotations
        locked.guidelines_version = project.guidelines_version
        locked.error = ""
        locked.save()
    cache.delete(progress_key(version.pk))
    logger.info("version %s frozen: %s items, %s", version.pk, written, digest)


def _pseudonyms(project: Project, eligible: list, sql: str) -> dict[int, str]:
    """The project's pseudonyms, extended (in user id order) to people met for the first time."""
    known = dict(AnnotatorPseudonym.objects.filter(project=project).values_list("user_id", "code"))
    with connection.cursor() as cursor:
        cursor.execute(sql, [*eligible, True, *eligible])
        people = sorted(row[0] for row in cursor.fetchall())
    new = [user_id for user_id in people if user_id not in known]
    if new:
        used = [int(code[1:]) for code in known.values() if code[1:].isdigit()]
        start = max(used, default=0) + 1
        rows = [
            AnnotatorPseudonym(project=project, user_id=user_id, code=f"A{start + i:03d}")
            for i, user_id in enumerate(new)
        ]
        AnnotatorPseudonym.objects.bulk_create(rows, batch_size=1000)
        known.update({row.user_id: row.code for row in rows})
    return known


def _grouped(rows, key_index: int = 0):
    """Consecutive rows with the same key, as (key, [rows]); input ordered by that key."""
    current, group = None, []
    for row in rows:
        key = row[key_index]
        if key != current and group:
            yield current, group
            group = []
        current = key
        group.append(row)
    if group:
        yield current, group


class _Merge:
    """Advances a stream ordered by item id up to a given item."""

    def __init__(self, rows):
        self._groups = _grouped(rows)
        self._next = next(self._groups, None)

    def take(self, key: int) -> list:
        while self._next is not None and self._next[0] < key:
            self._next = next(self._groups, None)
        if self._next is not None and self._next[0] == key:
            rows = self._next[1]
            self._next = next(self._groups, None)
            return rows
        return []


def _copy_rows(
    version_id: int, eligible: list, builder: RowBuilder, total: int, sql: dict
) -> tuple[int, str]:
    """Write every row, spool its canonical line; returns (rows, content hash)."""
    gold_cats = _Merge(stream(sql["gold_cats"], [True, *eligible]))
    annotations = _Merge(stream(sql["annotations"], eligible))
    writer = RowWriter(version_id=version_id)
    with tempfile.TemporaryFile(prefix="goldset-freeze-") as spool:
        ids: list[str] = []
        offsets = array("q")
        buffer = bytearray()
        position = 0
        for done, item in enumerate(stream(sql["items"], [True, *eligible]), 1):
            item_id = item[0]
            values, line = builder.build(
                item=item[1:],
                metadata_json=metadata_canonical(item[6]),
                gold_categories=[r[1] for r in gold_cats.take(item_id)],
                annotations=annotations.take(item_id),
            )
            data = line.encode() + b"\n"
            buffer += data
            if len(buffer) >= SPOOL_CHUNK:
                spool.write(buffer)
                buffer = bytearray()
            ids.append(values[0])
            offsets.append(position)
            position += len(data)
            writer.add(values)
            if done % PROGRESS_EVERY == 0:
                _progress(version_id, "freezing", done, total)
        writer.close()
        offsets.append(position)
        spool.write(buffer)
        spool.flush()
        _progress(version_id, "hashing", total, total)
        return writer.rows, _hash_spool(spool, ids, offsets)


def _hash_spool(spool, ids: list[str], offsets: array) -> str:
    """SHA-256 of the spooled lines in code point order of their ids (= PostgreSQL's COLLATE
    "C" and SQLite's BINARY order, the order every export reads). Lines are read with pread,
    not mmap, so the spool stays page cache and never counts as the worker's memory."""
    order = sorted(range(len(ids)), key=ids.__getitem__)
    digest = hashlib.sha256()
    fd = spool.fileno()
    previous = None
    for i in order:
        if ids[i] == previous:
            raise RuntimeError(f"external id {previous!r} twice in one version")
        previous = ids[i]
        digest.update(os.pread(fd, offsets[i + 1] - offsets[i], offsets[i]))
    return digest.hexdigest()
