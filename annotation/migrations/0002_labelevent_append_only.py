"""The label audit log is append-only: the database refuses changes to its rows.

PostgreSQL refuses UPDATE and DELETE. SQLite (the embedded default) refuses UPDATE only: Django's
test flush empties tables with DELETE there, and the embedded database is a single-user
convenience, not the record of production data. TRUNCATE (table owner only) stays possible so
test databases can be reset.
"""

from django.db import migrations

TABLE = "annotation_labelevent"

SQLITE_UP = [
    f"""CREATE TRIGGER labelevent_no_update BEFORE UPDATE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, 'the label audit log is append-only'); END;""",

]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS labelevent_no_update;"]

POSTGRES_UP = [
    """CREATE OR REPLACE FUNCTION goldset_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'the label audit log is append-only'; END; $$ LANGUAGE plpgsql;""",
    f"""CREATE TRIGGER labelevent_append_only BEFORE UPDATE OR DELETE ON {TABLE}
        FOR EACH ROW EXECUTE FUNCTION goldset_append_only();""",
]
POSTGRES_DOWN = [
    f"DROP TRIGGER IF EXISTS labelevent_append_only ON {TABLE};",
]


def up(apps, schema_editor):
    statements = POSTGRES_UP if schema_editor.connection.vendor == "postgresql" else SQLITE_UP
    for sql in statements:
        schema_editor.execute(sql)


def down(apps, schema_editor):
    statements = POSTGRES_DOWN if schema_editor.connection.vendor == "postgresql" else SQLITE_DOWN
    for sql in statements:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("annotation", "0001_initial_schema")]
    operations = [migrations.RunPython(up, down)]
