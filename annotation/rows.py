"""Model instances from plain-SQL rows, without RawQuerySet's per-query setup.

The hot path (token authentication, project access, claim, submit) runs a few single-row
statements per request. `Model.objects.raw()` resolves columns, converters and the model's init
order again on every query, which costs more CPU than the statement itself
(bench/queue_profile.py). Here that work is done once per model and column list and kept on the
connection (converters may be bound to it, and every thread has its own connection).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

_PLANS = "_goldset_row_plans"


@dataclass(frozen=True)
class _Plan:
    model: type
    attnames: tuple[str, ...]  # present concrete fields, in the model's field order
    positions: tuple[int, ...]  # their row positions
    converters: tuple[tuple[int, tuple, object], ...]  # (index into values, converters, column)
    extras: tuple[tuple[int, str], ...]  # (row position, attribute) for non-field columns

    def build(self, row):
        values = [row[i] for i in self.positions]
        for index, converters, column in self.converters:
            value = values[index]
            for convert in converters:
                value = convert(value, column, connection)
            values[index] = value
        obj = self.model.from_db(connection.alias, self.attnames, values)
        for position, name in self.extras:
            setattr(obj, name, row[position])
        return obj


def _plan(model, columns: tuple[str, ...]) -> _Plan:
    plans = connection.__dict__.setdefault(_PLANS, {})
    key = (model, columns)
    plan = plans.get(key)
    if plan is None:
        plan = plans[key] = _make_plan(model, columns)
    return plan


def _make_plan(model, columns: tuple[str, ...]) -> _Plan:
    where = {name: i for i, name in enumerate(columns)}
    attnames, positions, converters = [], [], []
    for field in model._meta.concrete_fields:
        if field.column not in where:
            continue
        column = field.get_col(model._meta.db_table)
        found = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
        if found:
            converters.append((len(attnames), tuple(found), column))
        attnames.append(field.attname)
        positions.append(where[field.column])
    known = {f.column for f in model._meta.concrete_fields}
    extras = tuple((i, name) for i, name in enumerate(columns) if name not in known)
    return _Plan(model, tuple(attnames), tuple(positions), tuple(converters), extras)


def fetch_one(model, sql: str, params) -> object | None:
    """The first row of `sql` as a `model` instance (columns that are not fields of the model
    become plain attributes), or None."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        if row is None:
            return None
        columns = tuple(d[0] for d in cursor.description)
    return _plan(model, columns).build(row)


def insert(model, **values) -> int:
    """INSERT one row of `model` from attribute values (`item_id=…`, JSON as Python objects) and
    return its primary key, without building the ORM's insert query: values are prepared by
    the fields themselves, as `save()` would. Auto fields (`auto_now_add`) are not filled in
    here: pass them."""
    names = tuple(values)
    fields = _insert_fields(model, names)
    params = [f.get_db_prep_save(values[n], connection) for f, n in zip(fields, names, strict=True)]
    sql = _insert_sql(model, names, fields)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if connection.features.can_return_columns_from_insert:
            return cursor.fetchone()[0]
        return cursor.lastrowid


def _insert_fields(model, names: tuple[str, ...]):
    return [model._meta.get_field(n) for n in names]


def _insert_sql(model, names: tuple[str, ...], fields) -> str:
    plans = connection.__dict__.setdefault(_PLANS, {})
    key = ("insert", model, names)
    sql = plans.get(key)
    if sql is None:
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in fields)
        marks = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608 (names from the model)
        if connection.features.can_return_columns_from_insert:
            sql += f" RETURNING {quote(model._meta.pk.column)}"
        plans[key] = sql
    return sql
