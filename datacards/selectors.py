"""Reads of the datacards app: versions, notes, exports, progress, chart data and diffs.

Selectors own query shape: every list comes with its related rows joined, so a page or an API
list costs a fixed number of queries whatever its length (tests count them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import connection
from django.db.models import QuerySet

from annotation.errors import InvalidInput, NotFound
from annotation.models import Project

from .canonical import iso
from .models import AnnotatorPseudonym, CurationNote, DatasetVersion, ExportJob, VersionItem
from .services.freeze import progress_key
from .services.stream import canonical_order

DIFF_LIMIT = 100
DIFF_MAX_LIMIT = 1000


def version_list(*, project: Project) -> QuerySet[DatasetVersion]:
    return (
        DatasetVersion.objects.filter(project=project)
        .select_related("created_by", "parent")
        .defer("card")
        .order_by("-number")
    )


def version_get(*, project: Project, number: int) -> DatasetVersion:
    version = (
        DatasetVersion.objects.filter(project=project, number=number)
        .select_related("created_by", "parent")
        .first()
    )
    if version is None:
        raise NotFound(f"No version {number} in this project.", code="no_version")
    return version


def version_progress(*, version: DatasetVersion) -> dict:
    """A freezing version's phase and fraction (from the cache, as the freeze's transaction is
    still open); finished versions report their status."""
    if version.status != DatasetVersion.Status.FREEZING:
        return {"status": version.status, "phase": "", "fraction": 1.0, "done": 0, "total": 0}
    state = cache.get(progress_key(version.pk)) or {}
    return {
        "status": version.status,
        "phase": state.get("phase", "waiting for a worker"),
        "fraction": state.get("fraction", 0.0),
        "done": state.get("done", 0),
        "total": state.get("total", 0),
    }


def note_list(*, version: DatasetVersion) -> QuerySet[CurationNote]:
    return CurationNote.objects.filter(version=version).order_by("id")


def export_job_list(*, version: DatasetVersion) -> QuerySet[ExportJob]:
    return ExportJob.objects.filter(version=version).select_related("version").order_by("-id")


def export_job_get(*, version: DatasetVersion, job_id: int) -> ExportJob:
    job = ExportJob.objects.filter(version=version, pk=job_id).select_related("version").first()
    if job is None:
        raise NotFound(f"No export {job_id} of version {version.number}.", code="no_export")
    return job


def pseudonym_names(*, project: Project) -> dict[str, str]:
    """Pseudonym → username, for members who read the project inside the app."""
    return dict(
        AnnotatorPseudonym.objects.filter(project=project).values_list("code", "user__username")
    )


def chart_data(*, version: DatasetVersion) -> dict:
    """What the card page's charts draw (json_script; Chart.js never sees HTML)."""
    card = version.card or {}
    prevalence = card.get("prevalence", [])
    agreement = card.get("agreement", {})
    by_name = {a["name"]: a for a in agreement.get("categories", [])}
    pairs = {a["name"]: a for a in card.get("pair_agreement", {}).get("categories", [])}
    names = [p["name"] for p in prevalence]

    def pick(block, key, part):
        value = (block or {}).get(key) or {}
        return value.get(part) if isinstance(value, dict) else None

    return {
        "prevalence": {
            "labels": names,
            "value": [p["prevalence"]["value"] for p in prevalence],
            "low": [p["prevalence"]["low"] for p in prevalence],
            "high": [p["prevalence"]["high"] for p in prevalence],
            "weighted": [(p.get("weighted") or {}).get("value") for p in prevalence],
            "weighted_low": [(p.get("weighted") or {}).get("low") for p in prevalence],
            "weighted_high": [(p.get("weighted") or {}).get("high") for p in prevalence],
            "has_weighted": bool(card.get("weighting", {}).get("applies")),
        },
        "agreement": {
            "labels": names,
            "alpha": [pick(by_name.get(n), "alpha", "value") for n in names],
            "alpha_low": [pick(by_name.get(n), "alpha", "low") for n in names],
            "alpha_high": [pick(by_name.get(n), "alpha", "high") for n in names],
            "positive": [(pairs.get(n) or {}).get("positive") for n in names],
        },
        "sampling": {
            "labels": [s["label"] for s in card.get("sampling", [])],
            "values": [s["items"] for s in card.get("sampling", [])],
        },
    }


# --- diff -----------------------------------------------------------------------------------


@dataclass
class VersionDiff:
    old: DatasetVersion
    new: DatasetVersion
    counts: dict
    added: list[dict] = field(default_factory=list)
    removed: list[dict] = field(default_factory=list)
    relabeled: list[dict] = field(default_factory=list)
    content_changed: list[dict] = field(default_factory=list)
    prevalence: list[dict] = field(default_factory=list)
    limit: int = DIFF_LIMIT


ROWS = VersionItem._meta.db_table
GOLD_COLUMNS = (
    "labels_json, none_of_these, gold_source, gold_decided_by, gold_decided_at, gold_rationale"
)


def _gold(row, offset: int = 0) -> dict:
    labels, none, source, by, at, rationale = row[offset : offset + 6]
    return {
        "labels": json.loads(labels),
        "none_of_these": bool(none),
        "source": source,
        "decided_by": by or None,
        "decided_at": iso(at),
        "rationale": rationale or "",
    }


def _query(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _one_sided(keep: int, other: int, limit: int) -> tuple[int, list[dict]]:
    """Rows of version `keep` whose external id is not in version `other`."""
    where = (
        f"FROM {ROWS} k WHERE k.version_id = %s AND NOT EXISTS "  # noqa: S608
        f"(SELECT 1 FROM {ROWS} o WHERE o.version_id = %s AND o.external_id = k.external_id)"
    )
    total = _query(f"SELECT COUNT(*) {where}", [keep, other])[0][0]
    cols = ", ".join(f"k.{c.strip()}" for c in GOLD_COLUMNS.split(","))
    rows = _query(
        f"SELECT k.external_id, k.item_id, {cols} {where} "
        f"ORDER BY k.external_id{canonical_order()} LIMIT %s",
        [keep, other, limit],
    )
    return total, [{"id": r[0], "item_id": r[1], **_gold(r, 2)} for r in rows]


def _pairs(old: int, new: int, condition: str, limit: int, columns: str) -> tuple[int, list]:
    join = (
        f"FROM {ROWS} a JOIN {ROWS} b ON b.version_id = %s AND b.external_id = a.external_id "  # noqa: S608
        f"WHERE a.version_id = %s AND ({condition})"
    )
    total = _query(f"SELECT COUNT(*) {join}", [new, old])[0][0]
    rows = _query(
        f"SELECT b.external_id, b.item_id, {columns} {join} "
        f"ORDER BY b.external_id{canonical_order()} LIMIT %s",
        [new, old, limit],
    )
    return total, rows


def _prevalence_change(old: DatasetVersion, new: DatasetVersion) -> list[dict]:
    before = {p["name"]: p for p in (old.card or {}).get("prevalence", [])}
    after = {p["name"]: p for p in (new.card or {}).get("prevalence", [])}
    names = list(after) + [n for n in before if n not in after]
    out = []
    for name in names:
        a, b = before.get(name), after.get(name)
        va = a["prevalence"]["value"] if a else None
        vb = b["prevalence"]["value"] if b else None
        out.append(
            {
                "name": name,
                "positives_from": a["positives"] if a else None,
                "positives_to": b["positives"] if b else None,
                "from": va,
                "to": vb,
                "change": None if va is None or vb is None else round(vb - va, 6),
            }
        )
    return out


def version_diff(
    *, project: Project, old_number: int, new_number: int, limit: int = DIFF_LIMIT
) -> VersionDiff:
    """Items added, removed and relabeled from version `old_number` to `new_number` (any two
    versions with rows, in either order), who relabeled them, when and why (the newer version's
    gold rows), and the change of prevalence per class. Lists are capped at `limit`; the counts
    are exact."""
    if not 1 <= limit <= DIFF_MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {DIFF_MAX_LIMIT}.", code="bad_limit")
    old = version_get(project=project, number=old_number)
    new = version_get(project=project, number=new_number)
    for v in (old, new):
        if not v.has_rows:
            raise InvalidInput(
                f"Version {v.number} is {v.status} and has no rows to compare.", code="no_rows"
            )
    added_n, added = _one_sided(new.pk, old.pk, limit)
    removed_n, removed = _one_sided(old.pk, new.pk, limit)
    gold_b = ", ".join(f"b.{c.strip()}" for c in GOLD_COLUMNS.split(","))
    gold_a = ", ".join(f"a.{c.strip()}" for c in GOLD_COLUMNS.split(","))
    relabeled_n, rows = _pairs(
        old.pk,
        new.pk,
        "a.labels_json <> b.labels_json OR a.none_of_these <> b.none_of_these",
        limit,
        f"{gold_a}, {gold_b}",
    )
    relabeled = [
        {"id": r[0], "item_id": r[1], "before": _gold(r, 2), "after": _gold(r, 8)} for r in rows
    ]
    changed_n, rows = _pairs(
        old.pk, new.pk, "a.item_content_hash <> b.item_content_hash", limit, "b.text"
    )
    changed = [{"id": r[0], "item_id": r[1], "text": r[2]} for r in rows]
    counts = {
        "from_items": old.item_count,
        "to_items": new.item_count,
        "added": added_n,
        "removed": removed_n,
        "relabeled": relabeled_n,
        "content_changed": changed_n,
        "unchanged_labels": new.item_count - added_n - relabeled_n,
    }
    return VersionDiff(
        old=old,
        new=new,
        counts=counts,
        added=added,
        removed=removed,
        relabeled=relabeled,
        content_changed=changed,
        prevalence=_prevalence_change(old, new),
        limit=limit,
    )
