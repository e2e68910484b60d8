"""Database helpers no app owns."""

from django.db import connections
from django.db.models import Model
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery


def insert_if_absent(obj: Model, *, using: str = "default") -> bool:
    """INSERT obj ... ON CONFLICT DO NOTHING RETURNING its id, in one statement: True and
    obj.pk set when the row was inserted, False when a row already holds one of its unique
    values (then nothing is written and obj is left unsaved).

    A get-then-create costs a read, a savepoint, the insert and a release, and still has
    to catch the IntegrityError of a racing insert; here the unique index decides. A
    concurrent insert of the same value waits for the first transaction to end, then
    inserts nothing (or inserts, if the first rolled back). Any unique constraint of the
    table counts as a conflict, and no model validation or signal runs: the caller checks
    the values, and the table's CHECK constraints still apply. PostgreSQL and SQLite
    (3.35+) both speak ON CONFLICT DO NOTHING with RETURNING.
    """
    meta = obj._meta
    fields = [f for f in meta.local_concrete_fields if not f.generated]
    if obj.pk is None:
        fields = [f for f in fields if f is not meta.auto_field]
    query = InsertQuery(type(obj), on_conflict=OnConflict.IGNORE)
    query.insert_values(fields, [obj])
    compiler = query.get_compiler(using=using)
    compiler.returning_fields = [meta.pk]
    [(sql, params)] = compiler.as_sql()
    if " RETURNING " not in sql:  # a backend that cannot say which row it wrote
        raise NotImplementedError(f"{connections[using].vendor} cannot RETURNING from INSERT")
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding = False
    obj._state.db = using
    return True
