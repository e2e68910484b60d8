"""A prepared read survives a schema change made by another connection (a deploy's
migrate while the old workers still serve): it names its columns, so a new column does
not change its result and PostgreSQL simply plans it again."""

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from accounts.selectors import get_user_for_session
from distributions.selectors import get_user_dashboard_state
from tests.factories import SubscriptionFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def other_connection():
    settings = connection.settings_dict
    return psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"] or None,
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        password=settings["PASSWORD"] or None,
        autocommit=True,
    )


@pytest.mark.parametrize("table", ["accounts_user", "subscriptions_subscription"])
def test_the_hot_reads_go_on_after_a_column_is_added_elsewhere(table):
    user = UserFactory()
    SubscriptionFactory(user=user)
    now = timezone.now()
    for _ in range(6):  # prepared, and past PostgreSQL's five custom plans
        assert get_user_for_session(user.pk) == user
        assert len(get_user_dashboard_state(user, now=now)[1]) == 1
    with other_connection() as other:
        other.execute(f"ALTER TABLE {table} ADD COLUMN added_by_a_deploy integer")
        try:
            assert get_user_for_session(user.pk) == user
            assert len(get_user_dashboard_state(user, now=now)[1]) == 1
        finally:
            other.execute(f"ALTER TABLE {table} DROP COLUMN added_by_a_deploy")
