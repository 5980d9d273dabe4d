"""A published version never changes: refused by the services (Conflict) and by the database
(triggers), which also guard a draft's frozen fields and the append-only notes."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from annotation.errors import Conflict, InvalidInput
from datacards.models import AnnotatorPseudonym, CurationNote, DatasetVersion, VersionItem
from datacards.services.versions import (
    curation_note_add,
    version_delete,
    version_publish,
    version_sections_update,
)
from tests.factories import frozen_version


@pytest.fixture
def published(dataset, scientist):
    return frozen_version(dataset.project, scientist, publish=True)


@pytest.fixture
def draft(dataset, scientist):
    return frozen_version(dataset.project, scientist)


def refused(sql: str, params=()) -> None:
    """The statement is refused by a trigger; the savepoint keeps the test's transaction."""
    with (
        pytest.raises(DatabaseError, match="datacards"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params)


# --- services -------------------------------------------------------------------------------


def test_publishing_twice_is_refused(published, scientist):
    with pytest.raises(Conflict, match="published already"):
        version_publish(version=published, user=scientist)


def test_sections_of_a_published_version_cannot_change(published):
    with pytest.raises(Conflict, match="no longer change"):
        version_sections_update(version=published, sections={"motivation": "Changed."})

    published.refresh_from_db()
    assert published.motivation == ""


def test_a_published_version_cannot_be_deleted(published):
    with pytest.raises(Conflict, match="published"):
        version_delete(version=published)

    assert VersionItem.objects.filter(version=published).count() == 5


def test_sections_change_while_draft_and_bad_input_changes_nothing(draft):
    version_sections_update(version=draft, sections={"motivation": " Why.\r\n", "license": "mit"})
    draft.refresh_from_db()
    assert (draft.motivation, draft.license) == ("Why.", "mit")

    for bad, message in (
        ({"colour": "red"}, "Unknown card section"),
        ({"license": "no spaces allowed"}, "license"),
        ({"summary": "x" * 5001}, "at most"),
        ({"motivation": 3}, "text expected"),
    ):
        with pytest.raises(InvalidInput, match=message):
            version_sections_update(version=draft, sections=bad)
    draft.refresh_from_db()
    assert (draft.motivation, draft.license, draft.summary) == ("Why.", "mit", "")


def test_deleting_a_draft_keeps_its_number(draft, dataset, scientist):
    curation_note_add(version=draft, author=scientist, text="Draft note.")

    version_delete(version=draft)

    draft.refresh_from_db()
    assert draft.status == "deleted"
    assert not VersionItem.objects.filter(version=draft).exists()
    assert not CurationNote.objects.filter(version=draft).exists()
    assert frozen_version(dataset.project, scientist).number == 2


def test_notes_are_allowed_on_published_versions_but_not_empty(published, scientist):
    note = curation_note_add(version=published, author=scientist, text="  Found a typo.  ")
    assert note.text == "Found a typo." and note.author_name == scientist.username

    with pytest.raises(InvalidInput, match="empty"):
        curation_note_add(version=published, author=scientist, text="   ")
    assert CurationNote.objects.filter(version=published).count() == 1


def test_publish_records_the_notes_exports_carry(draft, scientist):
    note = curation_note_add(version=draft, author=scientist, text="Before.")
    published = version_publish(version=draft, user=scientist)
    curation_note_add(version=published, author=scientist, text="After.")

    assert published.published_note_id == note.pk
    assert published.published_by_name == scientist.username


# --- database -------------------------------------------------------------------------------


def test_database_refuses_changing_a_published_version(published):
    table = DatasetVersion._meta.db_table
    for column, value in (
        ("content_hash", "0" * 64),
        ("motivation", "sneaky"),
        ("status", "draft"),
        ("item_count", 1),
    ):
        refused(f"UPDATE {table} SET {column} = %s WHERE id = %s", [value, published.pk])  # noqa: S608
    refused(f"DELETE FROM {table} WHERE id = %s", [published.pk])  # noqa: S608
    published.refresh_from_db()
    assert published.status == "published" and published.motivation == ""


def test_database_refuses_changing_a_published_versions_rows(published):
    table = VersionItem._meta.db_table
    refused(f"UPDATE {table} SET text = 'changed' WHERE version_id = %s", [published.pk])  # noqa: S608
    refused(f"DELETE FROM {table} WHERE version_id = %s", [published.pk])  # noqa: S608
    row = VersionItem.objects.filter(version=published).first()
    refused(
        f"INSERT INTO {table} (version_id, item_id, external_id, text, url, title, metadata_json,"  # noqa: S608
        " item_content_hash, labels_json, none_of_these, gold_source, gold_decided_by,"
        " gold_decided_at, gold_rationale, gold_guideline_ref, gold_guidelines_version,"
        " annotations_json, soft_labels_json, selection_reason, weight)"
        " VALUES (%s, 1, 'new', 't', '', '', '{}', 'h', '[]', %s, 'consensus', '', %s, '', '',"
        " 1, '[]', 'null', 'random', 1.0)",
        [published.pk, False, row.gold_decided_at],
    )
    assert VersionItem.objects.filter(version=published).count() == 5


def test_database_refuses_the_orm_too(published):
    row = VersionItem.objects.filter(version=published).first()
    row.text = "changed"
    with pytest.raises(DatabaseError, match="datacards"), transaction.atomic():
        row.save()
    with pytest.raises(DatabaseError, match="datacards"), transaction.atomic():
        published.delete()
    assert VersionItem.objects.get(pk=row.pk).text != "changed"


def test_database_guards_a_drafts_frozen_fields_but_not_its_sections(draft):
    table = DatasetVersion._meta.db_table
    refused(f"UPDATE {table} SET content_hash = %s WHERE id = %s", ["0" * 64, draft.pk])  # noqa: S608
    refused(f"UPDATE {table} SET card = %s WHERE id = %s", ['{"counts": {}}', draft.pk])  # noqa: S608
    refused(f"UPDATE {table} SET status = 'freezing' WHERE id = %s", [draft.pk])  # noqa: S608
    refused(f"UPDATE {VersionItem._meta.db_table} SET text = 'x' WHERE version_id = %s", [draft.pk])  # noqa: S608

    DatasetVersion.objects.filter(pk=draft.pk).update(motivation="allowed")
    assert DatasetVersion.objects.get(pk=draft.pk).motivation == "allowed"


def test_database_keeps_notes_append_only(published, scientist):
    note = curation_note_add(version=published, author=scientist, text="Note.")
    table = CurationNote._meta.db_table
    refused(f"UPDATE {table} SET text = 'changed' WHERE id = %s", [note.pk])  # noqa: S608
    refused(f"DELETE FROM {table} WHERE id = %s", [note.pk])  # noqa: S608
    assert CurationNote.objects.get(pk=note.pk).text == "Note."


def test_database_refuses_notes_on_a_freezing_version(dataset, scientist):
    version = DatasetVersion.objects.create(project=dataset.project, number=9, created_by=scientist)
    with pytest.raises(DatabaseError, match="datacards"), transaction.atomic():
        CurationNote.objects.create(
            version=version, author=scientist, author_name="x", text="t", created_at=timezone.now()
        )


def test_database_refuses_changing_a_pseudonym(published):
    pseudonym = AnnotatorPseudonym.objects.filter(project=published.project_id).first()
    refused(
        f"UPDATE {AnnotatorPseudonym._meta.db_table} SET code = 'A999' WHERE id = %s",  # noqa: S608
        [pseudonym.pk],
    )


def test_database_refuses_rows_of_a_missing_version_and_orphaning_rows(draft):
    """The insert trigger is the rows' foreign key check; a version with rows cannot go."""
    table = VersionItem._meta.db_table
    refused(
        f"INSERT INTO {table} (version_id, item_id, external_id, text, url, title, metadata_json,"  # noqa: S608
        " item_content_hash, labels_json, none_of_these, gold_source, gold_decided_by,"
        " gold_decided_at, gold_rationale, gold_guideline_ref, gold_guidelines_version,"
        " annotations_json, soft_labels_json, selection_reason, weight)"
        " VALUES (%s, 1, 'x', 't', '', '', '{}', 'h', '[]', %s, 'consensus', '',"
        " '2026-01-01T00:00:00.000000Z', '', '', 1, '[]', 'null', 'random', 1.0)",
        [draft.pk + 1000, False],
    )
    refused(f"DELETE FROM {DatasetVersion._meta.db_table} WHERE id = %s", [draft.pk])  # noqa: S608
    assert VersionItem.objects.filter(version=draft).count() == 5
