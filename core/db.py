"""Database helpers no app owns."""

import functools

import psycopg
from django.db import connections
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
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


def insert_if_absent_from(obj: Model, field: str, *, using: str = "default", **where) -> bool:
    """insert_if_absent with the foreign key `field` of obj taken from the row of its
    model that `where` selects, in the same statement:

        INSERT INTO t (..., fk) SELECT %s, ..., s.id FROM <fk's table> s
            WHERE s.a = %s AND s.b IN (%s, %s) ON CONFLICT DO NOTHING RETURNING t.id

    `where` holds lookups on that model's fields: name=value (equal) or name__in=values
    (one of them); they must select at most one row (include a unique field). True, with
    obj.pk and the foreign key set, when the row was inserted; False, and nothing written,
    when no row matches `where` or a unique value of the table is already held (as
    insert_if_absent: the caller then tells the two apart with its full checks). The
    lookup and the insert are one round trip instead of two, and the conditions are
    checked by the database in the same statement as the write.

    Only equality and IN, so the statement's text depends on the lookups' names alone and
    is built once (a QuerySet's compilation cost more than the statement's round trip on
    the webhook's path); values are always parameters.
    """
    meta = obj._meta
    fk = meta.get_field(field)
    if not fk.many_to_one or not fk.concrete:
        raise ValueError(f"{field} is not a foreign key of {type(obj).__name__}.")
    connection = connections[using]
    lookups, params = [], []
    for key, value in where.items():
        name, _, lookup = key.partition("__")
        source_field = fk.related_model._meta.get_field(name)
        if lookup == "":
            values = [value]
        elif lookup == "in":
            values = [v for v in value if v is not None]  # as the ORM: NULL matches nothing
            if not values:
                return False
        else:
            raise ValueError(f"Only equality and __in are supported, not {key}.")
        lookups.append((source_field.column, lookup, len(values)))
        params.extend(
            source_field.get_db_prep_value(v, connection, prepared=False) for v in values
        )
    if not lookups:
        raise ValueError("where must name the row to take the foreign key from.")
    fields = [f for f in meta.local_concrete_fields if not f.generated and f is not fk]
    if obj.pk is None:
        fields = [f for f in fields if f is not meta.auto_field]
    compiler = InsertQuery(type(obj)).get_compiler(using=using)
    values = [compiler.prepare_value(f, f.pre_save(obj, add=True)) for f in fields]
    [placeholders], [insert_params] = compiler.assemble_as_sql(fields, [values])
    sql = _insert_from_sql(
        type(obj), fk.name, tuple(fields), tuple(placeholders), tuple(lookups), connection.alias
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, (*insert_params, *params))
        row = cursor.fetchone()
    if row is None:
        return False
    obj.pk, fk_value = row
    setattr(obj, fk.attname, fk_value)
    obj._state.adding = False
    obj._state.db = using
    return True


@functools.lru_cache(maxsize=64)
def _insert_from_sql(model, field, fields, placeholders, lookups, alias) -> str:
    ops = connections[alias].ops
    meta = model._meta
    fk = meta.get_field(field)
    source = fk.related_model._meta
    table = ops.quote_name(meta.db_table)
    columns = ", ".join(ops.quote_name(f.column) for f in [*fields, fk])
    conditions = " AND ".join(
        f"s.{ops.quote_name(column)} = %s"
        if lookup == ""
        else f"s.{ops.quote_name(column)} IN ({', '.join(['%s'] * count)})"
        for column, lookup, count in lookups
    )
    # Identifiers come from the models, quoted; every value is a parameter. "WHERE":
    # SQLite's parser needs one between a SELECT and ON CONFLICT (there always is one).
    return (
        f"{ops.insert_statement(on_conflict=OnConflict.IGNORE)} {table} ({columns}) "  # noqa: S608
        f"SELECT {', '.join(placeholders)}, s.{ops.quote_name(source.pk.column)} "
        f"FROM {ops.quote_name(source.db_table)} s WHERE {conditions} "
        f"{ops.on_conflict_suffix_sql(fields, OnConflict.IGNORE, None, None)} "
        f"RETURNING {table}.{ops.quote_name(meta.pk.column)}, {table}.{ops.quote_name(fk.column)}"
    )


class _PreparingCursor(psycopg.Cursor):
    """Binds on the server and asks psycopg to prepare every statement it runs."""

    def execute(self, query, params=None, *, prepare=True, binary=None):
        return super().execute(query, params, prepare=prepare, binary=binary)


class _LoggedCursor(CursorDebugWrapper):
    """Logs the statement as it ran, values in: psycopg keeps no text of a prepared one."""

    def execute(self, sql, params=None):
        with self.debug_sql(self.db.ops.compose_sql(sql, params)):
            return CursorWrapper.execute(self, sql, params)


@functools.lru_cache(maxsize=128)
def _row_plan(model: type[Model], columns: tuple[str, ...], using: str):
    """How to make model instances of rows with these columns: for each concrete field,
    the column that holds it (None when the statement did not select it) and its
    converters; the other columns become attributes of the same name."""
    connection = connections[using]
    position = {name: i for i, name in enumerate(columns)}
    fields = []
    for field in model._meta.concrete_fields:
        col = field.get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        fields.append((field.attname, position.get(field.column), col, converters))
    known = {field.column for field in model._meta.concrete_fields}
    extras = [(name, i) for i, name in enumerate(columns) if name not in known]
    return fields, extras


def _instances(model, rows, columns, using):
    connection = connections[using]
    fields, extras = _row_plan(model, columns, using)
    selected = [attname for attname, i, _, _ in fields if i is not None]
    objects = []
    for row in rows:
        values = []
        for _, i, col, converters in fields:
            if i is None:
                continue
            value = row[i]
            for converter in converters:
                value = converter(value, col, connection)
            values.append(value)
        obj = model.from_db(using, selected, values)
        for name, i in extras:
            setattr(obj, name, row[i])
        objects.append(obj)
    return objects


def column_list(model: type[Model], alias: str = "") -> str:
    """The model's columns, quoted and comma-separated (each `alias.` first when given),
    for the SELECT list of a statement given to prepared_raw. A prepared statement must
    name its columns: PostgreSQL plans it again after a migration changes the table, but
    refuses to run one whose result changed ("cached plan must not change result type"),
    which `SELECT *` does when a column is added while old workers still serve."""
    quote = connections["default"].ops.quote_name
    prefix = f"{alias}." if alias else ""
    return ", ".join(f"{prefix}{quote(f.column)}" for f in model._meta.concrete_fields)


def prepared_raw(model: type[Model], sql: str, params: dict, *, using: str = "default") -> list:
    """list(Model.objects.raw(sql, params)), as a statement PostgreSQL plans once per
    connection.

    For a read that runs on every request of a hot page: planning a statement of several
    subqueries cost PostgreSQL more than running it (0.22 ms against 0.10 ms for the
    dashboard's state), and Django's RawQuerySet spent 0.1 ms of Python a statement
    working out again which column is which field (BENCHMARKS.md, issue 17 part 4). On
    PostgreSQL the statement is bound on the server and prepared on first use (psycopg
    keeps it per connection; with persistent connections that is per worker process);
    after five runs PostgreSQL may keep one generic plan, which suits statements whose
    plan does not depend on the values (look-ups by id). params must be a dict
    (%(name)s placeholders); name the columns (column_list), never `*`. Columns that are
    the model's fields fill them (through the fields' converters, as Django's), the others
    become attributes. With prepared
    statements turned off (DB_PREPARED_STATEMENTS=0, for a pooler that cannot keep them)
    it still runs, unprepared. Elsewhere (SQLite) it is list(Model.objects.raw(...))."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return list(model._default_manager.db_manager(using).raw(sql, params))
    adapt = connection.ops.adapt_unknown_value
    params = {key: adapt(value) for key, value in params.items()}
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        raw = _PreparingCursor(connection.connection)
    # Wrapped as connection.cursor() wraps its own: execute_wrapper, query logging and
    # assertNumQueries see this statement too.
    cursor_class = _LoggedCursor if connection.queries_logged else CursorWrapper
    with cursor_class(raw, connection) as cursor:
        cursor.execute(sql, params)
        # The names straight from the result (cursor.description builds an object per
        # column, which cost more than making the instances).
        result = raw.pgresult
        columns = tuple(result.fname(i).decode() for i in range(result.nfields))
        rows = cursor.fetchall()
    return _instances(model, rows, columns, using)
