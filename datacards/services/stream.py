"""Streaming reads: rows in batches from a server-side cursor on PostgreSQL (a plain cursor on
SQLite), so a million rows never sit in memory at once."""

from __future__ import annotations

from collections.abc import Iterator

from django.db import connection

from ..canonical import ROW_COLUMNS
from ..models import VersionItem

FETCH = 5_000


def stream(sql: str, params: list, *, fetch: int = FETCH) -> Iterator[tuple]:
    """Rows of `sql`, fetched `fetch` at a time. Outside a transaction PostgreSQL's cursor is
    declared WITH HOLD (Django's chunked cursor), so callers may commit in between."""
    cursor = connection.chunked_cursor()
    try:
        cursor.execute(sql, params)
        while True:
            batch = cursor.fetchmany(fetch)
            if not batch:
                return
            yield from batch
    finally:
        cursor.close()


def canonical_order() -> str:
    """Code point order of external ids (byte order in UTF-8) on both databases."""
    return ' COLLATE "C"' if connection.vendor == "postgresql" else ""


def sql_rows_canonical(columns: tuple[str, ...] = ROW_COLUMNS) -> str:
    """A version's stored rows in canonical order: a walk of the unique index."""
    return (
        f"SELECT {', '.join(columns)} FROM {VersionItem._meta.db_table} "  # noqa: S608
        f"WHERE version_id = %s ORDER BY external_id{canonical_order()}"
    )


def rows_canonical(version_id: int, columns: tuple[str, ...] = ROW_COLUMNS) -> Iterator[tuple]:
    return stream(sql_rows_canonical(columns), [version_id])
