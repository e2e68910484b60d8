import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from reports.selectors import get_latest_report, get_report, get_user_reports
from tests.factories import ReportFactory

pytestmark = pytest.mark.django_db


def test_a_donor_gets_their_own_reports_newest_first(alice, bob):
    old = ReportFactory(user=alice, week_start=dt.date(2026, 11, 9))
    new = ReportFactory(user=alice, week_start=dt.date(2026, 11, 16))
    ReportFactory(user=bob)
    assert list(get_user_reports(alice)) == [new, old]
    assert get_latest_report(alice) == new


def test_another_donors_report_id_finds_nothing(alice, bob):
    bobs = ReportFactory(user=bob)
    assert get_report(alice, bobs.pk) is None
    assert get_report(bob, bobs.pk) == bobs


def test_no_reports_yet(alice):
    assert get_latest_report(alice) is None


@pytest.mark.parametrize(("args", "field"), [(("me", 1), "user"), ((None, "x"), "report_id")])
def test_bad_arguments_name_the_field(alice, args, field):
    user = alice if args[0] is None else args[0]
    with pytest.raises(ValidationError) as exc:
        get_report(user, args[1])
    assert set(exc.value.message_dict) == {field}
