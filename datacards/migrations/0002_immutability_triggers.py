"""A published version never changes: the database refuses it, not only the services.

datasetversion
  - published or deleted: no UPDATE at all; published: no DELETE.
  - draft / failed: the frozen fields (project, number, parent, author, dates of the freeze,
    content hash, counts, guidelines version, card, error) cannot change; the status may only
    move draft → published / deleted, failed → deleted.
  - freezing: the freeze fills the frozen fields; the status may only become draft or failed.
versionitem
  - INSERT only while the version exists and is freezing (this is also the foreign key check,
    made once per statement instead of once per row); a version with rows cannot be deleted; never UPDATE; no DELETE of a published version's
    rows (a draft's rows go when the draft is deleted).
curationnote
  - append-only: never UPDATE; INSERT only on draft or published versions; DELETE only together
    with a draft (never on a published version).
annotatorpseudonym
  - never UPDATE: a pseudonym, once given, names the same person in every version.

PostgreSQL checks version rows per statement with transition tables (one check per COPY batch
instead of one per row); SQLite checks per row. TRUNCATE (table owner only) stays possible so
test databases can be reset. Unlike the label audit log (annotation 0002), SQLite refuses DELETE
of published rows as well: the tests that need it roll back instead of flushing.
"""

from django.db import migrations

V = "datacards_datasetversion"
ROWS = "datacards_versionitem"
NOTES = "datacards_curationnote"
PSEUDO = "datacards_annotatorpseudonym"

FROZEN = (
    "project_id",
    "number",
    "parent_id",
    "created_by_id",
    "created_at",
    "started_at",
    "frozen_at",
    "content_hash",
    "item_count",
    "annotation_count",
    "guidelines_version",
    "card",
    "error",
)


def _pg_frozen_changed() -> str:
    new = ", ".join(f"NEW.{c}" for c in FROZEN)
    old = ", ".join(f"OLD.{c}" for c in FROZEN)
    return f"ROW({new}) IS DISTINCT FROM ROW({old})"


def _sqlite_frozen_changed() -> str:
    return " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in FROZEN)


POSTGRES_UP = [
    f"""CREATE OR REPLACE FUNCTION datacards_version_guard() RETURNS trigger AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        IF OLD.status = 'published' THEN
          RAISE EXCEPTION 'datacards: published version % is immutable', OLD.id;
        END IF;
        IF EXISTS (SELECT 1 FROM {ROWS} WHERE version_id = OLD.id) THEN
          RAISE EXCEPTION 'datacards: delete the rows of version % first', OLD.id;
        END IF;
        RETURN OLD;
      END IF;
      IF OLD.status IN ('published', 'deleted') THEN
        RAISE EXCEPTION 'datacards: % version % is immutable', OLD.status, OLD.id;
      END IF;
      IF OLD.status = 'freezing' THEN
        IF NEW.status NOT IN ('freezing', 'draft', 'failed') THEN
          RAISE EXCEPTION 'datacards: a freezing version can only become draft or failed';
        END IF;
        RETURN NEW;
      END IF;
      IF {_pg_frozen_changed()} THEN
        RAISE EXCEPTION 'datacards: the frozen fields of version % cannot change', OLD.id;
      END IF;
      IF OLD.status = 'draft' AND NEW.status NOT IN ('draft', 'published', 'deleted') THEN
        RAISE EXCEPTION 'datacards: a draft can only be published or deleted';
      END IF;
      IF OLD.status = 'failed' AND NEW.status NOT IN ('failed', 'deleted') THEN
        RAISE EXCEPTION 'datacards: a failed version can only be deleted';
      END IF;
      RETURN NEW;
    END; $$ LANGUAGE plpgsql;""",
    f"""CREATE TRIGGER datacards_version_guard BEFORE UPDATE OR DELETE ON {V}
        FOR EACH ROW EXECUTE FUNCTION datacards_version_guard();""",
    f"""CREATE OR REPLACE FUNCTION datacards_rows_insert_guard() RETURNS trigger AS $$
    BEGIN
      -- Also the foreign key check: a row whose version does not exist is refused.
      IF EXISTS (SELECT 1 FROM new_rows n LEFT JOIN {V} v ON v.id = n.version_id
                 WHERE v.id IS NULL OR v.status <> 'freezing') THEN
        RAISE EXCEPTION 'datacards: rows can only be added to a version while it is freezing';
      END IF;
      RETURN NULL;
    END; $$ LANGUAGE plpgsql;""",
    f"""CREATE TRIGGER datacards_rows_insert_guard AFTER INSERT ON {ROWS}
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION datacards_rows_insert_guard();""",
    f"""CREATE OR REPLACE FUNCTION datacards_rows_delete_guard() RETURNS trigger AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM old_rows o JOIN {V} v ON v.id = o.version_id
                 WHERE v.status = 'published') THEN
        RAISE EXCEPTION 'datacards: the rows of a published version are immutable';
      END IF;
      RETURN NULL;
    END; $$ LANGUAGE plpgsql;""",
    f"""CREATE TRIGGER datacards_rows_delete_guard AFTER DELETE ON {ROWS}
        REFERENCING OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION datacards_rows_delete_guard();""",
    """CREATE OR REPLACE FUNCTION datacards_refuse_update() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION 'datacards: % rows are never updated', TG_TABLE_NAME; END;
    $$ LANGUAGE plpgsql;""",
    f"""CREATE TRIGGER datacards_rows_no_update BEFORE UPDATE ON {ROWS}
        FOR EACH ROW EXECUTE FUNCTION datacards_refuse_update();""",
    f"""CREATE TRIGGER datacards_notes_no_update BEFORE UPDATE ON {NOTES}
        FOR EACH ROW EXECUTE FUNCTION datacards_refuse_update();""",
    f"""CREATE TRIGGER datacards_pseudonym_no_update BEFORE UPDATE ON {PSEUDO}
        FOR EACH ROW EXECUTE FUNCTION datacards_refuse_update();""",
    f"""CREATE OR REPLACE FUNCTION datacards_notes_guard() RETURNS trigger AS $$
    DECLARE st text;
    BEGIN
      IF TG_OP = 'DELETE' THEN
        SELECT status INTO st FROM {V} WHERE id = OLD.version_id;
        IF st = 'published' THEN
          RAISE EXCEPTION 'datacards: curation notes are append-only';
        END IF;
        RETURN OLD;
      END IF;
      SELECT status INTO st FROM {V} WHERE id = NEW.version_id;
      IF st IS NULL OR st NOT IN ('draft', 'published') THEN
        RAISE EXCEPTION 'datacards: notes go on draft or published versions only';
      END IF;
      RETURN NEW;
    END; $$ LANGUAGE plpgsql;""",
    f"""CREATE TRIGGER datacards_notes_guard BEFORE INSERT OR DELETE ON {NOTES}
        FOR EACH ROW EXECUTE FUNCTION datacards_notes_guard();""",
]
POSTGRES_DOWN = [
    f"DROP TRIGGER IF EXISTS datacards_version_guard ON {V};",
    f"DROP TRIGGER IF EXISTS datacards_rows_insert_guard ON {ROWS};",
    f"DROP TRIGGER IF EXISTS datacards_rows_delete_guard ON {ROWS};",
    f"DROP TRIGGER IF EXISTS datacards_rows_no_update ON {ROWS};",
    f"DROP TRIGGER IF EXISTS datacards_notes_no_update ON {NOTES};",
    f"DROP TRIGGER IF EXISTS datacards_pseudonym_no_update ON {PSEUDO};",
    f"DROP TRIGGER IF EXISTS datacards_notes_guard ON {NOTES};",
    "DROP FUNCTION IF EXISTS datacards_version_guard();",
    "DROP FUNCTION IF EXISTS datacards_rows_insert_guard();",
    "DROP FUNCTION IF EXISTS datacards_rows_delete_guard();",
    "DROP FUNCTION IF EXISTS datacards_refuse_update();",
    "DROP FUNCTION IF EXISTS datacards_notes_guard();",
]


def _abort(message: str) -> str:
    return f"BEGIN SELECT RAISE(ABORT, 'datacards: {message}'); END;"


SQLITE_UP = [
    f"""CREATE TRIGGER datacards_version_no_update_final BEFORE UPDATE ON {V}
        WHEN OLD.status IN ('published', 'deleted')
        {_abort("a published or deleted version is immutable")}""",
    f"""CREATE TRIGGER datacards_version_freezing_status BEFORE UPDATE ON {V}
        WHEN OLD.status = 'freezing' AND NEW.status NOT IN ('freezing', 'draft', 'failed')
        {_abort("a freezing version can only become draft or failed")}""",
    f"""CREATE TRIGGER datacards_version_frozen_fields BEFORE UPDATE ON {V}
        WHEN OLD.status IN ('draft', 'failed') AND ({_sqlite_frozen_changed()})
        {_abort("the frozen fields of a version cannot change")}""",
    f"""CREATE TRIGGER datacards_version_draft_status BEFORE UPDATE ON {V}
        WHEN (OLD.status = 'draft' AND NEW.status NOT IN ('draft', 'published', 'deleted'))
          OR (OLD.status = 'failed' AND NEW.status NOT IN ('failed', 'deleted'))
        {_abort("a draft can only be published or deleted, a failed version deleted")}""",
    f"""CREATE TRIGGER datacards_version_no_delete BEFORE DELETE ON {V}
        WHEN OLD.status = 'published'
        {_abort("a published version is immutable")}""",
    f"""CREATE TRIGGER datacards_version_rows_first BEFORE DELETE ON {V}
        WHEN EXISTS (SELECT 1 FROM {ROWS} WHERE version_id = OLD.id)
        {_abort("delete the rows of a version first")}""",
    f"""CREATE TRIGGER datacards_rows_insert_guard BEFORE INSERT ON {ROWS}
        WHEN (SELECT status FROM {V} WHERE id = NEW.version_id) IS NOT 'freezing'
        {_abort("rows can only be added to a version while it is freezing")}""",
    f"""CREATE TRIGGER datacards_rows_no_update BEFORE UPDATE ON {ROWS}
        {_abort("version rows are never updated")}""",
    f"""CREATE TRIGGER datacards_rows_delete_guard BEFORE DELETE ON {ROWS}
        WHEN (SELECT status FROM {V} WHERE id = OLD.version_id) = 'published'
        {_abort("the rows of a published version are immutable")}""",
    f"""CREATE TRIGGER datacards_notes_no_update BEFORE UPDATE ON {NOTES}
        {_abort("curation notes are append-only")}""",
    f"""CREATE TRIGGER datacards_notes_insert_guard BEFORE INSERT ON {NOTES}
        WHEN (SELECT status FROM {V} WHERE id = NEW.version_id) NOT IN ('draft', 'published')
          OR (SELECT status FROM {V} WHERE id = NEW.version_id) IS NULL
        {_abort("notes go on draft or published versions only")}""",
    f"""CREATE TRIGGER datacards_notes_delete_guard BEFORE DELETE ON {NOTES}
        WHEN (SELECT status FROM {V} WHERE id = OLD.version_id) = 'published'
        {_abort("curation notes are append-only")}""",
    f"""CREATE TRIGGER datacards_pseudonym_no_update BEFORE UPDATE ON {PSEUDO}
        {_abort("pseudonyms never change")}""",
]
SQLITE_DOWN = [
    f"DROP TRIGGER IF EXISTS {name};"
    for name in (
        "datacards_version_no_update_final",
        "datacards_version_freezing_status",
        "datacards_version_frozen_fields",
        "datacards_version_draft_status",
        "datacards_version_no_delete",
        "datacards_version_rows_first",
        "datacards_rows_insert_guard",
        "datacards_rows_no_update",
        "datacards_rows_delete_guard",
        "datacards_notes_no_update",
        "datacards_notes_insert_guard",
        "datacards_notes_delete_guard",
        "datacards_pseudonym_no_update",
    )
]


def up(apps, schema_editor):
    statements = POSTGRES_UP if schema_editor.connection.vendor == "postgresql" else SQLITE_UP
    for sql in statements:
        schema_editor.execute(sql, params=None)


def down(apps, schema_editor):
    statements = POSTGRES_DOWN if schema_editor.connection.vendor == "postgresql" else SQLITE_DOWN
    for sql in statements:
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("datacards", "0001_versions_rows_notes_exports")]
    operations = [migrations.RunPython(up, down)]
