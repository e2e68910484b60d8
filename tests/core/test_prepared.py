"""core.db.prepared_raw: the same model instances as Model.objects.raw, from a statement
PostgreSQL keeps prepared per connection (and that query logging still sees)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from core.db import column_list, prepared_raw
from reports.models import Report
from tests.factories import ReportFactory, UserFactory

pytestmark = pytest.mark.django_db

REPORT_SQL = (
    f"SELECT {column_list(Report, 'r')}, r.id * 2 AS doubled FROM reports_report r"  # noqa: S608
    " WHERE r.user_id = %(user)s ORDER BY r.id"
)
USER_SQL = f"SELECT {column_list(User)} FROM accounts_user WHERE id = %(id)s"  # noqa: S608


def fields_of(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def test_rows_are_the_same_instances_as_the_orms_with_extra_columns_as_attributes(alice, bob):
    mine = [
        ReportFactory(
            user=alice,
            week_start=f"2026-0{m}-0{d}",
            distribution_breakdown=[{"charity_id": m, "amount_cents": 100 * m, "reason": "é ✓"}],
        )
        for m, d in [(3, 2), (3, 9), (6, 1)]
    ]
    ReportFactory(user=bob)
    got = prepared_raw(Report, REPORT_SQL, {"user": alice.pk})
    assert [fields_of(r) for r in got] == [
        fields_of(r) for r in Report.objects.filter(user=alice).order_by("id")
    ]
    # JSON went through the field's converter: a list, not text.
    assert got[0].distribution_breakdown == mine[0].distribution_breakdown
    assert [r.doubled for r in got] == [r.pk * 2 for r in mine]
    assert all(not r._state.adding and r._state.db == "default" for r in got)
    assert got == list(Report.objects.raw(REPORT_SQL, {"user": alice.pk}))


def test_columns_not_selected_are_deferred_and_load_when_read(alice):
    [user] = prepared_raw(
        User, "SELECT id, email FROM accounts_user WHERE id = %(id)s", {"id": alice.pk}
    )
    assert user.email == alice.email
    assert user.get_deferred_fields() >= {"city", "password"}
    with CaptureQueriesContext(connection) as ctx:
        assert user.city == alice.city
    assert len(ctx.captured_queries) == 1


def test_no_row_is_an_empty_list_and_the_statement_is_logged_with_its_values():
    with CaptureQueriesContext(connection) as ctx:
        assert prepared_raw(User, USER_SQL, {"id": 987654}) == []
    [query] = ctx.captured_queries
    assert "987654" in query["sql"] and "accounts_user" in query["sql"]


@pytest.mark.postgres
def test_on_postgresql_one_prepared_statement_serves_every_value():
    users = UserFactory.create_batch(4)
    sql = USER_SQL + " /* test_prepared */"
    for user in users * 2:
        assert prepared_raw(User, sql, {"id": user.pk})[0].email == user.email
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans + custom_plans FROM pg_prepared_statements"
            " WHERE statement LIKE %s",
            ["%/* test_prepared */%"],
        )
        assert [row[0] for row in cursor.fetchall()] == [len(users) * 2]


@pytest.mark.postgres
def test_with_prepared_statements_off_it_runs_unprepared(alice):
    raw = connection.connection
    threshold, raw.prepare_threshold = raw.prepare_threshold, None
    try:
        sql = USER_SQL + " /* unprepared */"
        assert prepared_raw(User, sql, {"id": alice.pk})[0] == alice
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                ["%/* unprepared */%"],
            )
            assert cursor.fetchone()[0] == 0
    finally:
        raw.prepare_threshold = threshold
