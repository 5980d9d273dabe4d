"""Building and writing frozen rows (the freeze's inner loop).

`RowBuilder` turns one item, its gold label and its annotations into the stored column values:
gold category names sorted, annotations pseudonymised and sorted by pseudonym, the soft label
distribution (the share of deciding annotations that chose each category), the weight
1/(π·f) with π the recorded inclusion probability and f the labeled fraction of the item's
batch (`batches.py`; the row keeps π as recorded, so f = 1/(π·weight) stays readable). Nested
values become canonical JSON text once, here; repeated shapes (the same label set, the same vote
pattern) come from small caches, which is most of a large project.

`RowWriter` sends them out in batches: COPY on PostgreSQL, executemany on SQLite.
"""

from __future__ import annotations

from json.encoder import encode_basestring as _s

from django.db import connection

from annotation.models import Category

from ..canonical import ROW_COLUMNS, canonical_line, dumps, iso
from ..models import VersionItem
from .batches import effective_probability
from .card import CardAccumulator

# The stored columns: the canonical ones first (a row's first len(ROW_COLUMNS) values are
# what canonical_line takes), then the item's id and content hash.
INSERT_COLUMNS = (*ROW_COLUMNS, "item_id", "item_content_hash")
N_CANONICAL = len(ROW_COLUMNS)
BATCH = 10_000
CACHE_LIMIT = 50_000


class RowBuilder:
    def __init__(
        self,
        *,
        categories: list[Category],
        pseudonyms: dict[int, str],
        acc: CardAccumulator,
        fractions: dict[int, float] | None = None,
    ):
        """`fractions`: {model run id: labeled fraction of its batch}; runs not in it (none
        recorded) keep f = 1."""
        self.fractions = fractions or {}
        self.index = {c.pk: i for i, c in enumerate(categories)}
        self.names = [c.name for c in categories]
        self.none_slot = len(categories)
        self.pseudonyms = pseudonyms
        self.acc = acc
        # (name, schema index) in name order: the key order of canonical soft-label JSON.
        self._soft_keys = [
            (_s(name), i) for name, i in sorted((n, i) for i, n in enumerate(self.names))
        ]
        self._labels_cache: dict[frozenset, str] = {}
        self._soft_cache: dict[tuple, tuple[str, float | None]] = {}

    def labels_json(self, category_ids) -> str:
        key = frozenset(category_ids)
        found = self._labels_cache.get(key)
        if found is None:
            found = dumps(sorted(self.names[self.index[c]] for c in key))
            if len(self._labels_cache) < CACHE_LIMIT:
                self._labels_cache[key] = found
        return found

    def _soft(self, votes: dict[int, int], deciding: int) -> tuple[str, float | None]:
        if not deciding:
            return "null", None
        key = (deciding, tuple(sorted(votes.items())))
        found = self._soft_cache.get(key)
        if found is None:
            parts = [
                f"{name}:{float.__repr__(round(votes.get(i, 0) / deciding, 6))}"
                for name, i in self._soft_keys
            ]
            none = round(votes.get(self.none_slot, 0) / deciding, 6)
            found = ("{" + ",".join(parts) + "}", none)
            if len(self._soft_cache) < CACHE_LIMIT:
                self._soft_cache[key] = found
        return found

    def build(self, *, item, metadata_json: str, gold_categories, annotations) -> tuple[tuple, str]:
        """(stored values in INSERT_COLUMNS order, canonical line) of one item.

        item: (external_id, id, text, url, title, metadata, content_hash, selection_reason,
        selection_run_id, inclusion_probability, gold none_of_these, gold source,
        decided_by_id, rationale, guideline_ref, guidelines_version, gold created_at).
        annotations: (item_id, id, annotator_id, none_of_these, unsure, category ids as a list
        (PostgreSQL's array) or "3,5" text (SQLite's group_concat) or None)."""
        (
            external_id, item_id, text, url, title, _metadata, content_hash, reason, run_id,
            probability, gold_none, source, decided_by_id, rationale, guideline_ref,
            guidelines_version, decided_at,
        ) = item  # fmt: skip
        votes: dict[int, int] = {}
        deciding = 0
        parts = []
        acc = self.acc
        for _key, _annotation_id, annotator_id, none, unsure, cats in annotations:
            if cats is None:
                cats = ()
            elif isinstance(cats, str):
                cats = [int(c) for c in cats.split(",")]
            none = bool(none)
            unsure = bool(unsure)
            if cats or none:
                deciding += 1
                for c in cats:
                    i = self.index[c]
                    votes[i] = votes.get(i, 0) + 1
                if none:
                    votes[self.none_slot] = votes.get(self.none_slot, 0) + 1
            code = self.pseudonyms[annotator_id]
            parts.append(
                (
                    code,
                    f'{{"annotator":{_s(code)},"labels":{self.labels_json(cats)},'
                    f'"none_of_these":{"true" if none else "false"},'
                    f'"unsure":{"true" if unsure else "false"}}}',
                )
            )
            acc.add_annotation(annotator_id=annotator_id, unsure=unsure)
        parts.sort()
        annotations_json = "[" + ",".join(p for _, p in parts) + "]"
        soft_json, soft_none = self._soft(votes, deciding)
        # π × f (π as recorded without a run or a known fraction); the row keeps π.
        effective = effective_probability(probability, self.fractions.get(run_id))
        weighted = effective is not None and effective < 1
        weight = 1.0 / effective if effective else 1.0
        gold_none = bool(gold_none)
        decided_at = iso(decided_at)
        acc.add_item(
            gold=[self.index[c] for c in gold_categories],
            none_of_these=gold_none,
            source=source,
            decided_at=decided_at,
            reason=reason,
            run_id=run_id,
            weight=weight,
            weighted=weighted,
            votes=votes,
            deciding=deciding,
        )
        values = (
            external_id,
            text,
            url or "",
            title or "",
            metadata_json,
            self.labels_json(gold_categories),
            gold_none,
            source,
            self.pseudonyms.get(decided_by_id, "") if decided_by_id else "",
            decided_at,
            rationale or "",
            guideline_ref or "",
            guidelines_version,
            annotations_json,
            soft_json,
            soft_none,
            reason,
            run_id,
            probability,
            weight,
            item_id,
            content_hash,
        )
        return values, canonical_line(values[:N_CANONICAL])


class RowWriter:
    """Batches of rows into the version table; `rows` counts what was written."""

    def __init__(self, *, version_id: int):
        self.version_id = version_id
        self.rows = 0
        self._batch: list[tuple] = []
        self._postgres = connection.vendor == "postgresql"
        table = VersionItem._meta.db_table
        columns = ", ".join(("version_id", *INSERT_COLUMNS))
        self._copy_sql = f"COPY {table} ({columns}) FROM STDIN"
        marks = ", ".join(["%s"] * (len(INSERT_COLUMNS) + 1))
        self._insert_sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608

    def add(self, values: tuple) -> None:
        self._batch.append(values)
        if len(self._batch) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if not self._batch:
            return
        if self._postgres:
            self._copy(self._batch)
        else:
            self._insert(self._batch)
        self.rows += len(self._batch)
        self._batch = []

    def close(self) -> None:
        self.flush()

    def _copy(self, batch: list[tuple]) -> None:
        # psycopg's write_row (C) adapts and escapes each value: several times faster than
        # building COPY text in Python.
        version_id = self.version_id
        with connection.cursor() as cursor, cursor.cursor.copy(self._copy_sql) as copy:
            for values in batch:
                copy.write_row((version_id, *values))

    def _insert(self, batch: list[tuple]) -> None:
        version_id = self.version_id
        with connection.cursor() as cursor:
            cursor.executemany(self._insert_sql, [(version_id, *v) for v in batch])
