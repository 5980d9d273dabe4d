"""The multi-annotator part of a noise run: where gold items carry several annotations, how
trustworthy is each annotator, and how sure is the consensus (cleanlab's CROWDLAB, through
`learning.ml.noise_annotators.annotator_quality`).

Multi-label projects ask one binary question per category (annotator m said category c or
not); single-label projects one question whose classes are the categories plus "none of these".
The model's side is the noise check's own out-of-fold probabilities, prior-corrected the same
way (the project model's balanced class weights inflate rare classes). The result goes into the
run's figures as JSON (`annotator_figures`) for the lead page's annotator table:

    {"available": true, "items": <gold items with 2+ annotations>,
     "annotators": [{"id", "username", "items"}],
     "categories": [{"id", "name", "consensus_quality": <mean over labeled items>,
                     "low_consensus": <items with consensus quality < 0.5>,
                     "annotator_quality": {"<user id>": q}, "note": ""}],
     "note": ""}
    or {"available": false, "note": "<why>"}.
"""

import numpy as np

from ..models import NoiseRun
from ..selectors import TrainingData
from ..selectors.noise_arrays import AnnotatorLabels, annotator_labels

LOW_CONSENSUS = 0.5


def _summary(result: dict) -> dict:
    quality = [q for q in result["consensus_quality"] if q is not None]
    return {
        "consensus_quality": round(float(np.mean(quality)), 6) if quality else None,
        "low_consensus": int(sum(q < LOW_CONSENSUS for q in quality)),
        "annotator_quality": {
            str(a["annotator"]): round(a["quality"], 6) for a in result["annotators"]
        },
        "model_weight": round(result["model_weight"], 6),
        "note": "",
    }


def _question(labels: np.ndarray, proba: np.ndarray, ids: list[int]) -> dict:
    from ..ml.noise_annotators import NotEnoughData, annotator_quality

    try:
        return _summary(annotator_quality(labels, proba, annotator_ids=ids))
    except NotEnoughData as exc:
        return {"consensus_quality": None, "annotator_quality": {}, "note": str(exc)}


def _questions(run: NoiseRun, data: TrainingData, report, found: AnnotatorLabels, rows):
    from ..ml.noise import prior_corrected, single_label_proba

    multi_label = run.parameters["multi_label"]
    P = prior_corrected(report.pred_proba, data.Y, multi_label=multi_label)[rows]
    position = np.full(data.gold_count, -1)
    position[rows] = np.arange(len(rows))
    local = AnnotatorLabels(
        rows=position[found.rows],
        annotators=found.annotators,
        labels=found.labels,
        none=found.none,
        missing=found.missing,
        annotator_ids=found.annotator_ids,
        usernames=found.usernames,
    )
    ids = found.annotator_ids
    if not multi_label:
        return [
            {
                "id": None,
                "name": "Label (single-label)",
                **_question(local.class_matrix(len(rows)), single_label_proba(P), ids),
            }
        ]
    return [
        {
            "id": c["id"],
            "name": c["name"],
            **_question(local.category_matrix(j, len(rows)), P[:, j], ids),
        }
        for j, c in enumerate(run.categories)
    ]


def annotator_figures(*, run: NoiseRun, data: TrainingData, report) -> dict:
    """Annotator and consensus quality of the gold items `data` (the rows `report` checked).
    Reads the annotations (three queries), computes with no transaction open."""
    found = annotator_labels(
        project_id=run.project_id,
        item_ids=data.item_ids,
        category_ids=[c["id"] for c in run.categories],
    )
    labeled = found.rows[~found.missing]
    counts = np.bincount(labeled, minlength=data.gold_count) if len(labeled) else np.zeros(0)
    multiple = int((counts >= 2).sum()) if len(counts) else 0
    if len(found.annotator_ids) < 2 or multiple == 0:
        return {
            "available": False,
            "note": "Annotator quality needs gold items labeled by two or more annotators "
            f"({len(found.annotator_ids)} annotator(s), {multiple} such item(s)).",
        }
    rows = np.flatnonzero(counts >= 1)
    categories = _questions(run, data, report, found, rows)
    per_annotator = np.bincount(
        found.annotators[~found.missing], minlength=len(found.annotator_ids)
    )
    available = any(c["consensus_quality"] is not None for c in categories)
    return {
        "available": available,
        "items": multiple,
        "annotators": [
            {"id": uid, "username": name, "items": int(k)}
            for uid, name, k in zip(
                found.annotator_ids, found.usernames, per_annotator, strict=True
            )
        ],
        "categories": categories,
        "note": "" if available else categories[0]["note"],
    }
