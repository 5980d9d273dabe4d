"""The per-annotator labels of gold items, as arrays for the multi-annotator check.

Read by project (a join on the current gold label), never by a list of item ids: a 50k-id
IN (…) list does not fit SQLite's parameter limit and plans badly on PostgreSQL.
"""

from dataclasses import dataclass

import numpy as np
from django.contrib.auth import get_user_model

from annotation.models import Annotation


@dataclass
class AnnotatorLabels:
    """Labels of gold items by annotator.

    rows (K,): row into the gold arrays of each annotation; annotators (K,): column into
    `annotator_ids`; labels (K, C) int8: 1 where the annotation chose category c; none (K,)
    bool: "none of these"; missing (K,) bool: the annotation gave no verdict on the active
    categories (unsure without a category, or only inactive categories), so it counts as not
    labeled. `usernames` is parallel to `annotator_ids`.
    """

    rows: np.ndarray
    annotators: np.ndarray
    labels: np.ndarray
    none: np.ndarray
    missing: np.ndarray
    annotator_ids: list[int]
    usernames: list[str]

    def category_matrix(self, c: int, n_rows: int) -> np.ndarray:
        """(n_rows, M) float: category c's 0/1 per (gold row, annotator), NaN where the
        annotator did not label the item."""
        out = np.full((n_rows, len(self.annotator_ids)), np.nan)
        keep = ~self.missing
        out[self.rows[keep], self.annotators[keep]] = self.labels[keep, c]
        return out

    def class_matrix(self, n_rows: int) -> np.ndarray:
        """Single-label: (n_rows, M) float, the class each annotator gave (category column c,
        or C for "none of these"), NaN where the annotator did not label the item."""
        out = np.full((n_rows, len(self.annotator_ids)), np.nan)
        keep = ~self.missing
        classes = np.where(
            self.labels.any(axis=1), self.labels.argmax(axis=1), self.labels.shape[1]
        )
        out[self.rows[keep], self.annotators[keep]] = classes[keep]
        return out


def annotator_labels(
    *, project_id: int, item_ids: np.ndarray, category_ids: list[int]
) -> AnnotatorLabels:
    """Annotations of the items with a current gold label (gold questions left out), mapped to
    rows of `item_ids` (the gold arrays' order; annotations of other items are dropped). Three
    queries: the annotations, their categories, the annotators' usernames."""
    row_of = {int(i): r for r, i in enumerate(item_ids)}
    column = {cid: c for c, cid in enumerate(category_ids)}
    annotations = Annotation.objects.filter(
        item__project_id=project_id,
        item__is_gold_question=False,
        item__gold_labels__current=True,
    ).values_list("pk", "item_id", "annotator_id", "none_of_these")
    index_of: dict[int, int] = {}
    rows, users, flags = [], [], []
    for pk, item_id, user_id, none in annotations.order_by("pk").iterator(chunk_size=5000):
        row = row_of.get(item_id)
        if row is None:
            continue
        index_of[pk] = len(rows)
        rows.append(row)
        users.append(user_id)
        flags.append(none)
    labels = np.zeros((len(rows), len(category_ids)), dtype=np.int8)
    if index_of:
        links = Annotation.categories.through.objects.filter(
            annotation__item__project_id=project_id,
            annotation_id__gte=min(index_of),
            category_id__in=category_ids,
        ).values_list("annotation_id", "category_id")
        for annotation_id, category_id in links.iterator(chunk_size=10000):
            k = index_of.get(annotation_id)
            if k is not None:
                labels[k, column[category_id]] = 1
    annotator_ids = sorted(set(users))
    col_of = {u: j for j, u in enumerate(annotator_ids)}
    names = dict(
        get_user_model().objects.filter(pk__in=annotator_ids).values_list("pk", "username")
    )
    none = np.array(flags, dtype=bool)
    # No verdict on the active categories: unsure with nothing chosen, or only inactive ones.
    missing = ~none & ~labels.any(axis=1) if len(rows) else np.zeros(0, dtype=bool)
    return AnnotatorLabels(
        rows=np.array(rows, dtype=np.int64),
        annotators=np.array([col_of[u] for u in users], dtype=np.int64),
        labels=labels,
        none=none,
        missing=missing,
        annotator_ids=annotator_ids,
        usernames=[names.get(u, f"user {u}") for u in annotator_ids],
    )
