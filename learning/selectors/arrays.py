"""The arrays a run trains and scores on.

Column c of every array (Y, predicted probabilities, gold positive counts) is category
`run_categories(...)[c]`: the project's *active* categories ordered by (order, id). A run stores
this list when it is requested, so its metrics and picks keep their meaning after the schema
changes.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db.models import Max, Min, QuerySet
from django.db.models.functions import Left

from annotation.models import Category, GoldLabel, Item, Project

from ..models import ModelRun, PickedItem


@dataclass(frozen=True)
class CategoryRef:
    id: int
    name: str


def run_categories(*, project: Project) -> list[CategoryRef]:
    """The project's active categories in array-column order: (order, id)."""
    rows = Category.objects.filter(project=project, active=True).order_by("order", "id")
    return [CategoryRef(pk, name) for pk, name in rows.values_list("pk", "name")]


def _text_max() -> int:
    return settings.GOLDSET["LEARNING_TEXT_MAX_CHARS"]


def _model_text(title: str, text: str) -> str:
    """What the model reads of an item: its title (if any) and the start of its text. The text
    is cut in the database so a 100k-character page never travels for a model that reads the
    first few thousand."""
    return f"{title}\n{text}" if title else text


@dataclass
class TrainingData:
    """Current gold labels as arrays. Y: (n, C) int8, 1 where the gold label has category c;
    an all-zero row is "none of these" (or only inactive categories)."""

    item_ids: np.ndarray
    texts: list[str]
    urls: list[str]
    Y: np.ndarray
    # The gold label row each row was read from, and whether its item is a gold question (the
    # label-noise check flags rows against the exact gold label it saw, never gold questions).
    gold_ids: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    gold_questions: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))

    @property
    def gold_count(self) -> int:
        return len(self.texts)

    def positives(self) -> np.ndarray:
        """(C,) gold positives per category."""
        return self.Y.sum(axis=0).astype(np.int64)


def training_data(*, project_id: int, category_ids: list[int]) -> TrainingData:
    """Every current gold label of the project (gold questions' known answers included: they
    are trusted labels). Two queries: the gold rows, then the category links of those rows.
    Links are read by gold row (a changed label is a new row, never an edited one), so the two
    reads agree even while labels change."""
    column = {cid: c for c, cid in enumerate(category_ids)}
    gold = (
        GoldLabel.objects.filter(project_id=project_id, current=True)
        .annotate(body=Left("item__text", _text_max()))
        .order_by("item_id")
        .values_list("pk", "item_id", "item__title", "body", "item__url", "item__is_gold_question")
    )
    row_of: dict[int, int] = {}
    item_ids: list[int] = []
    texts: list[str] = []
    urls: list[str] = []
    questions: list[bool] = []
    for gold_id, item_id, title, body, url, question in gold.iterator(chunk_size=5000):
        row_of[gold_id] = len(item_ids)
        item_ids.append(item_id)
        texts.append(_model_text(title, body))
        urls.append(url)
        questions.append(question)
    Y = np.zeros((len(item_ids), len(category_ids)), dtype=np.int8)
    if row_of:
        links = GoldLabel.categories.through.objects.filter(
            goldlabel__project_id=project_id,
            goldlabel_id__gte=min(row_of),
            category_id__in=category_ids,
        ).values_list("goldlabel_id", "category_id")
        for gold_id, category_id in links.iterator(chunk_size=10000):
            row = row_of.get(gold_id)
            if row is not None:
                Y[row, column[category_id]] = 1
    return TrainingData(
        np.array(item_ids, dtype=np.int64),
        texts,
        urls,
        Y,
        gold_ids=np.fromiter(row_of, dtype=np.int64, count=len(row_of)),
        gold_questions=np.array(questions, dtype=bool),
    )


@dataclass
class PoolChunk:
    ids: np.ndarray  # (m,) item ids
    texts: list[str]
    urls: list[str]
    fraction: float  # how far through the project's id range this chunk ends


def pool_queryset(*, project_id: int) -> QuerySet[Item]:
    """The unlabeled pool: items nobody has annotated yet that are still waiting for labels.

    Excluded: gold questions (their answer is known), items in adjudication or with a gold label,
    items with at least one annotation (they are being finished; moving them would strand the
    annotations already given), and items a lead placed by hand (reason "manual")."""
    return Item.objects.filter(
        project_id=project_id,
        label_state=Item.LabelState.PENDING,
        is_gold_question=False,
        annotation_count=0,
    ).exclude(selection_reason=Item.SelectionReason.MANUAL)


def pool_chunks(*, project_id: int, chunk_size: int) -> Iterator[PoolChunk]:
    """The pool in id ranges of `chunk_size` ids, one short query each (no cursor or
    transaction held open while the model scores a chunk). A project's items are mostly
    contiguous in id (they arrive by import), so each range is a primary-key range scan."""
    bounds = Item.objects.filter(project_id=project_id).aggregate(lo=Min("pk"), hi=Max("pk"))
    lo, hi = bounds["lo"], bounds["hi"]
    if lo is None:
        return
    base = pool_queryset(project_id=project_id).annotate(body=Left("text", _text_max()))
    span = max(1, hi - lo + 1)
    for start in range(lo, hi + 1, chunk_size):
        end = start + chunk_size
        rows = list(
            base.filter(pk__gte=start, pk__lt=end)
            .order_by("pk")
            .values_list("pk", "title", "body", "url")
        )
        fraction = min(1.0, (end - lo) / span)
        if rows:
            yield PoolChunk(
                ids=np.array([r[0] for r in rows], dtype=np.int64),
                texts=[_model_text(r[1], r[2]) for r in rows],
                urls=[r[3] for r in rows],
                fraction=fraction,
            )


def earlier_pick_item_ids(*, run: ModelRun) -> list[int]:
    """Items picked by earlier runs of the project that are still marked as queued and not
    released: the candidates a new batch replaces (the save re-checks each under a lock)."""
    return list(
        PickedItem.objects.filter(
            run__project_id=run.project_id,
            run_id__lt=run.pk,
            queued=True,
            released_at__isnull=True,
            item__annotation_count=0,
            item__selection_run_id__lt=run.pk,
        )
        .values_list("item_id", flat=True)
        .distinct()
    )
