"""verify_week recomputes a week from what its run recorded and checks the ledger row by
row and against the published checksum; a tampered row, input or checksum is caught and
named, and the command exits non-zero."""

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F

from distributions.models import Distribution, DistributionRun, RunCity
from portfolio.services import distribute_funds
from portfolio.verify import verify_week
from tests.portfolio.scenario import NOW, WEEK, at, charity, donor, paid

pytestmark = pytest.mark.django_db


@pytest.fixture
def week():
    """Two cities; Springfield, KY held first and placed by a rerun once a charity is
    approved; a late payment in Springfield, VT given by the rerun too (two passes each)."""
    charity(name="Food Shelf", urgency=90, gap=1_000_000)
    charity(name="Book Club", urgency=30, gap=5_000)
    for cents in (1000, 2500, 777):
        paid(donor(), cents)
    paid(donor("Springfield", "KY"), 1234)
    distribute_funds(WEEK, now=NOW)
    charity("Springfield", "KY", name="Kentucky Kitchen")
    paid(donor(), 400, when=at(WEEK + dt.timedelta(days=6), 23))
    distribute_funds(WEEK, now=NOW + dt.timedelta(hours=3))
    return WEEK


def run_command(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("verify_week", *args, stdout=out)
    return out.getvalue()


def test_an_untouched_week_verifies(week):
    result = verify_week(week)
    assert result.ok, result.problems
    assert result.rows == Distribution.objects.count() > 0
    assert [len(line.inputs) for line in RunCity.objects.order_by("state")] == [2, 2]
    out = run_command(week.isoformat())
    assert "verifies" in out and "checksum matches" in out


def test_a_cent_moved_between_two_rows_is_caught(week):
    row = Distribution.objects.filter(charity__name="Food Shelf").order_by("id").first()
    other = Distribution.objects.get(subscription=row.subscription, charity__name="Book Club")
    Distribution.objects.filter(pk=row.pk).update(amount_cents=F("amount_cents") - 1)
    Distribution.objects.filter(pk=other.pk).update(amount_cents=F("amount_cents") + 1)

    with pytest.raises(CommandError) as exc:
        run_command(week.isoformat())
    message = str(exc.value)
    assert message.startswith(f"The week of {week} does not verify: row of subscription ")
    assert f"to charity {row.charity_id}: the ledger says {row.amount_cents - 1} cents" in message


def test_a_changed_input_is_caught(week):
    line = RunCity.objects.get(state="VT")
    inputs = line.inputs
    inputs[0]["charities"][0]["needs"][0]["urgency"] += 1
    RunCity.objects.filter(pk=line.pk).update(inputs=inputs)
    problems = verify_week(week).problems
    assert "was weighed" in problems[0]


def test_a_changed_checksum_is_caught(week):
    DistributionRun.objects.update(rows_sha256="0" * 64)
    problems = verify_week(week).problems
    assert len(problems) == 1
    assert "not to the published " + "0" * 64 in problems[0]


def test_a_week_with_no_run_or_not_over_is_refused():
    with pytest.raises(CommandError, match="no distribution run"):
        run_command(WEEK.isoformat())
    with pytest.raises(CommandError, match="has not ended yet"):
        run_command((dt.date.today() + dt.timedelta(days=7)).isoformat())


@pytest.mark.postgres
def test_the_database_seals_a_week_exactly_as_the_published_rows_hash(week):
    """On PostgreSQL the checksum is computed in SQL; it must be the SHA-256 of the rows
    as week_rows publishes them."""
    import hashlib

    from distributions.selectors import week_checksum, week_rows

    run = DistributionRun.objects.get()
    lines = "".join(f"{t},{c},{cents}\n" for t, c, cents in week_rows(run))
    assert week_checksum(run) == hashlib.sha256(lines.encode()).hexdigest() == run.rows_sha256
