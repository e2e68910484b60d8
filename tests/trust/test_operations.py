"""Operations: one structured log line per money movement (logger "hometown.money"), and
the admin's DistributionRun history with the money held per city.

Lines are written when the money's transaction commits, so these tests run the engine
inside django_capture_on_commit_callbacks(execute=True).
"""

import datetime as dt
import logging

import pytest
from django.contrib.auth.models import Permission

from distributions.models import Distribution, DistributionRun
from portfolio import services
from subscriptions.services import record_contribution
from tests.factories import SubscriptionFactory, UserFactory
from tests.portfolio.scenario import NOW, PAID, WEEK, charity, donor, paid

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_demo_billing")]

MONEY = "hometown.money"


def _events(caplog):
    return [r.money for r in caplog.records if r.name == MONEY]


def _run(django_capture_on_commit_callbacks, caplog, week=WEEK, now=NOW):
    caplog.set_level(logging.INFO, logger=MONEY)
    with django_capture_on_commit_callbacks(execute=True):
        return services.distribute_funds(week, now=now)


def test_a_run_logs_one_line_per_city_with_its_cents_and_one_when_it_finishes(
    caplog, django_capture_on_commit_callbacks
):
    charity("Springfield", "VT")
    charity("Springfield", "VT", urgency=40)
    vt = [paid(donor("Springfield", "VT"), amount) for amount in (1000, 2500, 777)]
    held = paid(donor("Laramie", "WY"), 1500)  # no charity in Laramie: held
    run = _run(django_capture_on_commit_callbacks, caplog)

    events = _events(caplog)
    assert sorted(e["event"] for e in events[:-1]) == ["city_distributed", "city_held"]
    assert events[-1]["event"] == "run_finished"
    by_event = {e["event"]: e for e in events}
    given = by_event["city_distributed"]
    assert given["run_id"] == run.pk
    assert given["week"] == WEEK.isoformat()
    assert given["city"] == "Springfield, VT"
    assert given["cents"] == sum(c.amount_cents for c in vt)
    assert given["cents"] == sum(Distribution.objects.values_list("amount_cents", flat=True))
    assert (given["contributions"], given["charities"]) == (3, 2)
    assert given["rows"] == Distribution.objects.count()
    hold = by_event["city_held"]
    assert (hold["city"], hold["cents"], hold["run_id"]) == ("Laramie, WY", held.amount_cents,
                                                            run.pk)  # fmt: skip
    assert "no approved charity" in hold["why"]
    done = by_event["run_finished"]
    assert (done["pooled_cents"], done["distributed_cents"], done["held_cents"]) == (
        run.pooled_cents,
        run.distributed_cents,
        run.held_cents,
    )
    assert done["status"] == run.status


def test_log_lines_are_key_value_text_with_places_quoted(
    caplog, django_capture_on_commit_callbacks
):
    charity("Springfield", "VT")
    paid(donor("Springfield", "VT"), 1234)
    run = _run(django_capture_on_commit_callbacks, caplog)
    line = next(r.getMessage() for r in caplog.records if r.name == MONEY)
    assert line.startswith("event=city_distributed ")
    assert f"run_id={run.pk} " in line
    assert 'city="Springfield, VT"' in line
    assert "cents=1234 " in line


def test_a_rerun_that_moves_nothing_logs_no_city(caplog, django_capture_on_commit_callbacks):
    charity("Springfield", "VT")
    paid(donor("Springfield", "VT"), 1000)
    _run(django_capture_on_commit_callbacks, caplog)
    caplog.clear()
    _run(django_capture_on_commit_callbacks, caplog)
    assert [e["event"] for e in _events(caplog)] == ["run_finished"]


def test_a_failed_city_logs_the_failure_and_no_distribution(
    caplog, django_capture_on_commit_callbacks, monkeypatch
):
    from django.db import OperationalError

    from distributions import services as ledger

    charity("Springfield", "VT")
    paid(donor("Springfield", "VT"), 1000)

    def broken(**kwargs):
        raise OperationalError("injected")

    monkeypatch.setattr(ledger, "mark_distributed", broken)
    _run(django_capture_on_commit_callbacks, caplog)
    events = _events(caplog)
    assert [e["event"] for e in events] == ["city_failed", "run_finished"]
    assert events[0]["cents"] == 1000
    assert "injected" in events[0]["error"]
    assert events[1]["status"] == DistributionRun.Status.PARTIAL


def test_a_recorded_contribution_is_logged_once_and_a_repeat_is_not(
    caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.INFO, logger=MONEY)
    sub = SubscriptionFactory(user=UserFactory(), stripe_subscription_id="sub_test_log")
    with django_capture_on_commit_callbacks(execute=True):
        first, created = record_contribution(
            subscription=sub, amount_cents=1500, paid_at=PAID, stripe_invoice_id="in_test_log"
        )
        again, created_again = record_contribution(
            subscription=sub, amount_cents=1500, paid_at=PAID, stripe_invoice_id="in_test_log"
        )
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    events = _events(caplog)
    assert events == [
        {
            "event": "contribution_recorded",
            "contribution_id": first.pk,
            "subscription_id": sub.pk,
            "cents": 1500,
            "fee_cents": None,  # not read from Stripe yet
            "paid_at": PAID.isoformat(),
            "invoice": "in_test_log",
        }
    ]


def test_a_contribution_rolled_back_with_its_transaction_is_not_logged(
    caplog, django_capture_on_commit_callbacks
):
    from django.db import transaction

    caplog.set_level(logging.INFO, logger=MONEY)
    sub = SubscriptionFactory(user=UserFactory(), stripe_subscription_id="sub_test_rb")
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                record_contribution(
                    subscription=sub, amount_cents=900, paid_at=PAID, stripe_invoice_id="in_rb"
                )
                raise RuntimeError("handler failed halfway")
        except RuntimeError:
            pass
    assert _events(caplog) == []


# --- admin ----------------------------------------------------------------------------

RUNS = "/admin/distributions/distributionrun/"


@pytest.fixture
def auditor(db):
    """Staff who may read distribution runs, nothing else."""
    user = UserFactory(email="gina@example.org", is_staff=True, city="", state="", zip_code="")
    user.user_permissions.add(Permission.objects.get(codename="view_distributionrun"))
    return user


@pytest.fixture
def run_with_held_city(db):
    charity("Springfield", "VT")
    paid(donor("Springfield", "VT"), 1050)
    paid(donor("Laramie", "WY"), 2575)
    paid(donor("<b>Evil</b>", "WY"), 125)  # donor input reaches the summary
    return services.distribute_funds(WEEK, now=NOW)


def test_the_run_list_shows_each_week_with_dollars_and_cities(client, auditor, run_with_held_city):
    later = WEEK + dt.timedelta(days=7)
    DistributionRun.objects.create(week_start=later, started_at=NOW, status="running")
    client.force_login(auditor)
    response = client.get(RUNS)
    assert response.status_code == 200
    page = response.content.decode()
    assert "$10.50" in page  # distributed
    assert "$27.00" in page  # held: 25.75 + 1.25
    assert "$37.50" in page  # pooled
    rows = response.context["cl"].result_list
    assert [r.week_start for r in rows] == [later, WEEK]  # newest first


def test_the_run_page_shows_each_city_with_held_money_and_why_escaped(
    client, auditor, run_with_held_city
):
    client.force_login(auditor)
    response = client.get(f"{RUNS}{run_with_held_city.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    table = page[page.index('<table class="run-summary">') :]
    table = table[: table.index("</table>")]
    assert table.count("<tr>") == 4  # header + 3 cities
    laramie = table[table.index("Laramie, WY") :].split("</tr>")[0]
    assert "held" in laramie and "$25.75" in laramie
    assert "no approved charity in Laramie, WY" in laramie
    springfield = table[table.index("Springfield, VT") :].split("</tr>")[0]
    assert "$10.50" in springfield and "$0.00" in springfield
    assert "<b>Evil</b>" not in page
    assert "&lt;b&gt;Evil&lt;/b&gt;, WY" in table


def test_runs_cannot_be_added_changed_or_deleted_in_the_admin(client, admin_user,
                                                              run_with_held_city):  # fmt: skip
    client.force_login(admin_user)
    assert client.get(f"{RUNS}add/").status_code == 403
    page = client.get(f"{RUNS}{run_with_held_city.pk}/change/").content.decode()
    assert 'name="_save"' not in page
    response = client.post(f"{RUNS}{run_with_held_city.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert DistributionRun.objects.filter(pk=run_with_held_city.pk).exists()
