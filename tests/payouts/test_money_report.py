"""`manage.py money_report --period YYYY-MM`: the summary's figures, OK per identity,
non-zero on a mismatch or a bad period."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from distributions.models import Distribution
from payouts.selectors import get_money_summary
from tests.factories import SubscriptionFactory
from tests.payouts import world as w

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(settings):
    settings.TIME_ZONE = "America/New_York"
    return w.build()


def _report(*args):
    out = StringIO()
    call_command("money_report", *args, stdout=out)
    return out.getvalue()


def test_it_prints_the_months_figures_and_the_balances_with_each_check_ok(world):
    out = _report("--period", "2026-11")
    summary = get_money_summary(w.NOVEMBER)
    assert "Money report for November 2026" in out
    assert out.count("OK ") == len(summary.identities) and "MISMATCH" not in out
    assert "$57.30" in out  # collected in November, gross
    assert f"${summary.to_end.held_cents / 100:.2f}" in out
    assert f"${summary.to_end.owed_cents / 100:,.2f}" in out


def test_a_mismatch_is_printed_and_exits_non_zero(world):
    Distribution.objects.create(
        subscription=SubscriptionFactory(), charity=world.food, amount_cents=123,
        week_start=dt.date(2026, 11, 9), distribution_date=dt.date(2026, 11, 16), reason="x",
    )  # fmt: skip
    out = StringIO()
    with pytest.raises(CommandError, match="MISMATCH in Net given or held"):
        call_command("money_report", "--period", "2026-12", stdout=out)
    assert "MISMATCH by -$1.23" in out.getvalue()


@pytest.mark.parametrize("bad", ["2026-13", "11-2026", "2026/11", "soon"])
def test_a_bad_period_is_one_readable_line(bad):
    with pytest.raises(CommandError) as info:
        _report("--period", bad)
    assert str(info.value) == f"--period: {bad!r} is not a month of the form YYYY-MM."
