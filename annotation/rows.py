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
