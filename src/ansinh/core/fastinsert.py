"""INSERTs without query compilation, for hot write paths (the gateway's intake).

``Model.objects.create`` builds and compiles an ``InsertQuery`` on every call; for a small row
that is most of its CPU time. :func:`insert` and :func:`insert_many` build the statement once
per model and database vendor from the model's own fields, and prepare each value with the
field's own ``pre_save`` / ``get_db_prep_save`` — what ``save()`` does — so defaults,
``auto_now_add``, foreign keys, JSON and binary columns behave exactly as with the ORM.

They fall back to the ORM whenever that could differ: a model with ``pre_save``/``post_save``
listeners, its own ``save()``, database defaults (``db_default``) or generated columns.

:func:`statement` and :func:`reserve_ids` build the same INSERTs as SQL text for a
``core.sqlscript`` message, with primary keys reserved beforehand (PostgreSQL sequences), so a
whole reception travels in one message instead of one round trip per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import connections
from django.db.models import Model
from django.db.models.signals import post_save, pre_save

M = TypeVar("M", bound=Model)

_plans: dict[tuple[type[Model], str, bool], tuple[list[Any], str, str, str] | None] = {}


def _plan(
    model: type[Model], alias: str, trust_save: bool = False, with_pk: bool = False
) -> tuple[list[Any], str, str, str] | None:
    """(fields, "INSERT … (cols) VALUES", one row's placeholders, " RETURNING pk") or None when
    the ORM must do it. ``with_pk``: the primary key is among the columns (reserved ids)."""
    conn = connections[alias]
    key = (model, conn.vendor, with_pk)
    if key in _plans:
        return _plans[key]
    meta = model._meta
    fields = [f for f in meta.local_concrete_fields if with_pk or f is not meta.auto_field]
    plain = (
        (trust_save or model.save is Model.save)
        and model.save_base is Model.save_base
        and meta.auto_field is not None
        and not meta.parents
        and not any(getattr(f, "generated", False) for f in fields)
        and not any(_has_db_default(f) for f in fields)
    )
    plan = None
    if plain:
        qn = conn.ops.quote_name
        head = (
            f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) VALUES "  # noqa: S608 - quoted names from the model
        )
        row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        plan = (fields, head, row, f" RETURNING {qn(meta.auto_field.column)}")
    _plans[key] = plan
    return plan


def _has_db_default(field: Any) -> bool:
    from django.db.models.fields import NOT_PROVIDED

    return getattr(field, "db_default", NOT_PROVIDED) is not NOT_PROVIDED


def _orm_only(model: type[Model]) -> bool:
    return pre_save.has_listeners(model) or post_save.has_listeners(model)


def insert(obj: M, *, using: str = "default", trust_save: bool = False) -> M:
    """INSERT one new instance and set its primary key, like ``obj.save(force_insert=True)``.
    ``trust_save``: the model's own ``save()`` only guards updates (an append-only path), so
    a plain INSERT of a new row is what it would do."""
    model = type(obj)
    plan = None if _orm_only(model) else _plan(model, using, trust_save)
    if plan is None:
        obj.save(force_insert=True, using=using)
        return obj
    fields, head, row, returning = plan
    conn = connections[using]
    values = [f.get_db_prep_save(f.pre_save(obj, True), connection=conn) for f in fields]
    with conn.cursor() as cursor:
        cursor.execute(head + row + returning, values)
        (pk,) = cursor.fetchone()
    setattr(obj, model._meta.auto_field.attname, pk)
    obj._state.adding = False
    obj._state.db = using
    return obj


def insert_many(objs: Sequence[Model], *, using: str = "default", batch_size: int = 200) -> None:
    """INSERT new instances of one model in multi-row statements (their keys are not read back:
    use it for rows nobody refers to in the same request, like bulk_create's without ids)."""
    if not objs:
        return
    model = type(objs[0])
    plan = None if _orm_only(model) else _plan(model, using)
    if plan is None:
        model._default_manager.using(using).bulk_create(objs, batch_size=batch_size)
        return
    fields, head, row, _returning = plan
    conn = connections[using]
    with conn.cursor() as cursor:
        for start in range(0, len(objs), batch_size):
            batch = objs[start : start + batch_size]
            values = [
                f.get_db_prep_save(f.pre_save(obj, True), connection=conn)
                for obj in batch
                for f in fields
            ]
            cursor.execute(head + ", ".join([row] * len(batch)), values)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = using


Statement = tuple[str, list[Any]]


def statement(
    objs: Sequence[Model], *, using: str = "default", trust_save: bool = False
) -> Statement:
    """One multi-row INSERT of new instances of one model, as SQL and parameters, their values
    prepared as :func:`insert` prepares them. Instances whose primary key is set (reserved with
    :func:`reserve_ids`) are inserted with it; otherwise the database numbers them and nobody
    reads the numbers back. Raises ``ValueError`` for a model only the ORM may write."""
    model = type(objs[0])
    with_pk = objs[0].pk is not None
    plan = None if _orm_only(model) else _plan(model, using, trust_save, with_pk)
    if plan is None:
        raise ValueError(f"{model.__name__} is written by the ORM only")
    fields, head, row, _returning = plan
    conn = connections[using]
    values = [
        f.get_db_prep_save(f.pre_save(obj, True), connection=conn) for obj in objs for f in fields
    ]
    return head + ", ".join([row] * len(objs)), values


def reserve_ids(models: Sequence[type[Model]], *, using: str = "default") -> Statement:
    """A statement giving one new primary key for each model, in order (PostgreSQL: the next
    value of each table's identity sequence; numbers taken are never given again, like the ones
    of a rolled-back INSERT)."""
    conn = connections[using]
    if conn.vendor != "postgresql":
        raise ValueError("reserved ids need PostgreSQL sequences")
    qn = conn.ops.quote_name
    cols = ", ".join(["nextval(pg_get_serial_sequence(%s, %s))"] * len(models))
    params: list[Any] = []
    for model in models:
        meta = model._meta
        params += [qn(meta.db_table), meta.auto_field.column]
    return f"SELECT {cols}", params


def mark_saved(objs: Sequence[Model], *, using: str = "default") -> None:
    """What :func:`insert` sets on an instance once its row is stored."""
    for obj in objs:
        obj._state.adding = False
        obj._state.db = using
