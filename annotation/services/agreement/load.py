"""Bulk reads of one project's annotations, labels, gold labels and skips into `Inputs` arrays.

One query per table, streamed in chunks (a server-side cursor on PostgreSQL) straight into
numpy arrays: no per-item queries and no model instances, so a million annotations cost a few
hundred MB at most and a few seconds. The reads run outside any transaction (autocommit), so a
label submitted or undone while they run may be seen half: a new annotation's category links
without its row are dropped, an undone annotation whose links are already gone looks like an
undecided one and is left out. The next snapshot sees the change whole.
"""

from __future__ import annotations

from itertools import islice

import numpy as np
from django.contrib.auth import get_user_model
from django.db.models import Count, Value
from django.db.models.functions import Coalesce

from ...models import Annotation, Assignment, Category, GoldLabel, Project
from .arrays import (
    NONE_KEY,
    NONE_NAME,
    SOURCE_CODES,
    AnnotationArrays,
    ClassInfo,
    GoldArrays,
    Inputs,
)

CHUNK_ROWS = 50_000


def _columns(queryset, n_columns: int) -> np.ndarray:
    """(rows, n_columns) int64 from a values_list queryset of integers/booleans."""
    rows = queryset.order_by().iterator(chunk_size=CHUNK_ROWS)
    parts = []
    while chunk := list(islice(rows, CHUNK_ROWS)):
        parts.append(np.array(chunk, dtype=np.int64).reshape(-1, n_columns))
    if not parts:
        return np.empty((0, n_columns), dtype=np.int64)
    return np.concatenate(parts)


def _classes(project: Project) -> list[ClassInfo]:
    categories = Category.objects.filter(project=project).order_by("order", "id")
    classes = [
        ClassInfo(key=f"c{pk}", name=name, category_id=pk, active=active)
        for pk, name, active in categories.values_list("id", "name", "active")
    ]
    classes.append(ClassInfo(key=NONE_KEY, name=NONE_NAME, category_id=None))
    return classes


def _label_matrix(row_ids, links: np.ndarray, classes: list[ClassInfo]) -> np.ndarray:
    """(len(row_ids), n_classes) bool from (row id, category id) links; `row_ids` sorted.
    Links to rows or categories not in the inputs (a race with a submit) are dropped."""
    labels = np.zeros((row_ids.size, len(classes)), dtype=bool)
    cat_ids = np.array([c.category_id for c in classes[:-1]], dtype=np.int64)
    if links.size == 0 or row_ids.size == 0 or cat_ids.size == 0:
        return labels
    cat_order = np.argsort(cat_ids)
    cat_sorted = cat_ids[cat_order]
    r = np.minimum(np.searchsorted(row_ids, links[:, 0]), row_ids.size - 1)
    k = np.minimum(np.searchsorted(cat_sorted, links[:, 1]), cat_sorted.size - 1)
    ok = (row_ids[r] == links[:, 0]) & (cat_sorted[k] == links[:, 1])
    labels[r[ok], cat_order[k[ok]]] = True
    return labels


def _annotations(project: Project, classes: list[ClassInfo]) -> AnnotationArrays:
    rows = _columns(
        Annotation.objects.filter(item__project=project).values_list(
            "id",
            "item_id",
            "annotator_id",
            "none_of_these",
            "time_spent_ms",
            "item__is_gold_question",
        ),
        6,
    )
    order = np.argsort(rows[:, 0], kind="stable")
    rows = rows[order]
    links = _columns(
        Annotation.categories.through.objects.filter(category__project=project).values_list(
            "annotation_id", "category_id"
        ),
        2,
    )
    labels = _label_matrix(rows[:, 0], links, classes)
    labels[:, -1] = rows[:, 3].astype(bool)
    return AnnotationArrays(
        item=rows[:, 1].copy(),
        annotator=rows[:, 2].copy(),
        time_ms=rows[:, 4].copy(),
        gold_question=rows[:, 5].astype(bool),
        labels=labels,
    )


def _gold(project: Project, classes: list[ClassInfo]) -> GoldArrays:
    current = GoldLabel.objects.filter(project=project, current=True)
    raw = list(
        current.order_by("id").values_list(
            "id", "item_id", "none_of_these", "source", Coalesce("decided_by_id", Value(0))
        )
    )
    ids = np.array([r[0] for r in raw], dtype=np.int64)
    links = _columns(
        GoldLabel.categories.through.objects.filter(
            goldlabel__project=project, goldlabel__current=True
        ).values_list("goldlabel_id", "category_id"),
        2,
    )
    labels = _label_matrix(ids, links, classes)
    labels[:, -1] = np.array([bool(r[2]) for r in raw], dtype=bool)
    return GoldArrays(
        item=np.array([r[1] for r in raw], dtype=np.int64),
        source=np.array([SOURCE_CODES.get(r[3], -1) for r in raw], dtype=np.int8),
        decided_by=np.array([r[4] for r in raw], dtype=np.int64),
        labels=labels,
    )


def _skips(project: Project) -> dict[int, int]:
    rows = (
        Assignment.objects.filter(project=project, state=Assignment.State.SKIPPED)
        .values("annotator_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("annotator_id", "n")
    )
    return dict(rows)


def inputs_load(*, project: Project) -> Inputs:
    """Everything a snapshot is computed from, for `project`."""
    classes = _classes(project)
    annotations = _annotations(project, classes)
    skips = _skips(project)
    user_ids = set(np.unique(annotations.annotator).tolist()) | set(skips)
    usernames = dict(get_user_model().objects.filter(pk__in=user_ids).values_list("id", "username"))
    return Inputs(
        classes=classes,
        annotations=annotations,
        gold=_gold(project, classes),
        multi_label=project.multi_label,
        usernames=usernames,
        skips=skips,
    )
