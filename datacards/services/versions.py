"""Writes on versions: start a freeze, publish, edit the written sections, delete a draft, add a
curation note.

Every write locks the version row (or the project row, to number a new version) and checks the
status under the lock; a published version is refused here with Conflict, and by the database's
triggers underneath (migration 0002) should anything get past this layer.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from annotation.errors import Conflict, InvalidInput
from annotation.models import Item, Project

from ..models import CurationNote, DatasetVersion, VersionItem
from .freeze import NOTHING_TO_FREEZE

Status = DatasetVersion.Status
NOTE_MAX_CHARS = 10_000
SECTION_MAX_CHARS = {
    "summary": 5_000,
    "motivation": 10_000,
    "intended_use": 10_000,
    "out_of_scope_use": 10_000,
    "known_limitations": 10_000,
    "license": 64,
    "languages": 200,
}


def _send_freeze(version_id: int) -> None:
    from ..tasks import version_freeze_task

    version_freeze_task.delay(version_id)


def version_freeze_start(*, project: Project, user) -> DatasetVersion:
    """Number a new version (parent: the newest published one), and send the freeze task on
    commit. Refuses a project with nothing to freeze and a second freeze while one runs.

    Locks the project row, so two starts number their versions one after the other."""
    eligible = Item.objects.filter(
        project=project, label_state=Item.LabelState.GOLD, is_gold_question=False
    )
    if not eligible.exists():
        raise InvalidInput(NOTHING_TO_FREEZE, code="nothing_to_freeze")
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).first()
        versions = DatasetVersion.objects.filter(project=project)
        if versions.filter(status=Status.FREEZING).exists():
            raise Conflict(
                "A version of this project is being frozen already; wait until it is done.",
                code="freeze_running",
            )
        number = (versions.aggregate(n=Max("number"))["n"] or 0) + 1
        parent = versions.filter(status=Status.PUBLISHED).order_by("-number").first()
        version = DatasetVersion.objects.create(
            project=project, number=number, parent=parent, created_by=user
        )
        transaction.on_commit(lambda: _send_freeze(version.pk))
    return version


def _locked(version_id: int) -> DatasetVersion:
    return DatasetVersion.objects.select_for_update().get(pk=version_id)


def _refuse_published(version: DatasetVersion, what: str) -> None:
    if version.status == Status.PUBLISHED:
        raise Conflict(
            f"Version {version.number} is published and can no longer change ({what}).",
            code="version_published",
        )


def version_publish(*, version: DatasetVersion, user) -> DatasetVersion:
    """Draft → published, once. Records the newest curation note: exports carry the notes up
    to it, so the same version always exports to the same bytes."""
    with transaction.atomic():
        locked = _locked(version.pk)
        if locked.status == Status.PUBLISHED:
            raise Conflict(
                f"Version {locked.number} is published already.", code="already_published"
            )
        if locked.status != Status.DRAFT:
            raise Conflict(
                f"Only a draft can be published; version {locked.number} is {locked.status}.",
                code="not_draft",
            )
        last_note = CurationNote.objects.filter(version=locked).aggregate(n=Max("id"))["n"]
        locked.status = Status.PUBLISHED
        locked.published_at = timezone.now()
        locked.published_by = user
        locked.published_by_name = user.get_username()
        locked.published_note_id = last_note or 0
        locked.save(
            update_fields=[
                "status",
                "published_at",
                "published_by",
                "published_by_name",
                "published_note_id",
            ]
        )
    return locked


def version_sections_update(*, version: DatasetVersion, sections: dict) -> DatasetVersion:
    """Change the written sections of a draft (only the keys given)."""
    unknown = set(sections) - set(DatasetVersion.SECTION_FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown card section(s): {', '.join(sorted(unknown))}.")
    clean = {}
    for name, value in sections.items():
        if not isinstance(value, str):
            raise InvalidInput(f"{name}: text expected.", code="invalid")
        value = value.replace("\r\n", "\n").strip()
        if len(value) > SECTION_MAX_CHARS[name]:
            raise InvalidInput(
                f"{name}: at most {SECTION_MAX_CHARS[name]} characters.", code="too_long"
            )
        if name == "license" and value and not _license_ok(value):
            raise InvalidInput(
                "license: an SPDX-style identifier such as cc-by-4.0, mit or other.",
                code="bad_license",
            )
        clean[name] = value
    with transaction.atomic():
        locked = _locked(version.pk)
        _refuse_published(locked, "card sections")
        if locked.status != Status.DRAFT:
            raise Conflict(
                f"Version {locked.number} is {locked.status}: only a draft's sections can change.",
                code="not_draft",
            )
        for name, value in clean.items():
            setattr(locked, name, value)
        if clean:
            locked.save(update_fields=list(clean))
    return locked


def _license_ok(value: str) -> bool:
    return all(ch.isalnum() or ch in "-.+" for ch in value) and len(value) <= 64


def version_delete(*, version: DatasetVersion) -> DatasetVersion:
    """Delete a draft's or a failed freeze's rows and notes; the version stays as a "deleted"
    tombstone so its number is never given out again."""
    with transaction.atomic():
        locked = _locked(version.pk)
        _refuse_published(locked, "delete")
        if locked.status not in (Status.DRAFT, Status.FAILED):
            raise Conflict(
                f"Version {locked.number} is {locked.status}; only a draft or a failed "
                "version can be deleted.",
                code="not_deletable",
            )
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {VersionItem._meta.db_table} WHERE version_id = %s",  # noqa: S608
                [locked.pk],
            )
        CurationNote.objects.filter(version=locked).delete()
        locked.status = Status.DELETED
        locked.save(update_fields=["status"])
    return locked


def curation_note_add(*, version: DatasetVersion, author, text: str) -> CurationNote:
    """Append a note (drafts and published versions; notes never change a version's rows)."""
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise InvalidInput("Write the note first: it is empty.", code="empty_note")
    if len(text) > NOTE_MAX_CHARS:
        raise InvalidInput(f"A note holds at most {NOTE_MAX_CHARS} characters.", code="too_long")
    with transaction.atomic():
        locked = _locked(version.pk)
        if locked.status not in (Status.DRAFT, Status.PUBLISHED):
            raise Conflict(
                f"Version {locked.number} is {locked.status}: notes go on drafts and published "
                "versions.",
                code="no_notes",
            )
        return CurationNote.objects.create(
            version=locked,
            author=author,
            author_name=author.get_username(),
            text=text,
            created_at=timezone.now(),
        )
