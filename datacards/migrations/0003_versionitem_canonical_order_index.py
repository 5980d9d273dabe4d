"""The unique index on (version, external_id), in the canonical row order.

The content hash and every export read a version's rows ordered by external_id in code point
order, which is byte order in UTF-8: COLLATE "C" on PostgreSQL (the database's default collation
would sort by locale rules, and differently on another server), SQLite's default BINARY
collation. With the index in that order, those reads walk the index instead of sorting a million
rows, and the diff joins two versions on it.
"""

from django.db import migrations

NAME = "versionitem_canonical_idx"
TABLE = "datacards_versionitem"


def up(apps, schema_editor):
    collate = ' COLLATE "C"' if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(
        f"CREATE UNIQUE INDEX {NAME} ON {TABLE} (version_id, external_id{collate})", params=None
    )


def down(apps, schema_editor):
    schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}", params=None)


class Migration(migrations.Migration):
    dependencies = [("datacards", "0002_immutability_triggers")]
    operations = [migrations.RunPython(up, down)]
