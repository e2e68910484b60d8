"""The staff money pages: the charity admin's money block and needs-review list, the
platform summary in the admin, the printable statement; and who may see them."""

import pytest
from django.urls import reverse
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from charities.models import IrsImport
from tests.factories import CharityFactory, UserFactory
from tests.payouts import world as w

pytestmark = pytest.mark.django_db

SUMMARY = "/admin/payouts/summary/"
CHANGELIST = "/admin/charities/charity/"


@pytest.fixture
def world(settings):
    settings.TIME_ZONE = "America/New_York"
    return w.build()


@pytest.fixture
def staff(client):
    user = UserFactory(is_staff=True, is_superuser=True, email="root@example.org")
    client.force_login(user)
    return client


def _statement_url(charity, period="2026-11"):
    return reverse("payouts:statement", args=[charity.pk]) + f"?period={period}"


def test_the_statement_lists_weeks_donor_counts_and_payouts_but_no_donor(world, staff):
    page = staff.get(_statement_url(world.food)).content.decode()
    assert "Payout statement for November 2026" in page
    assert "$25.41" in page and "$10.00" in page and "$35.41" in page  # weeks and total
    assert "CHK 1001" in page and "Paid" in page
    for contribution in world.contributions:
        user = contribution.subscription.user
        assert user.email not in page and user.name not in page


@pytest.mark.parametrize("who", ["anonymous", "donor"])
def test_only_staff_see_the_money_pages(world, client, who):
    if who == "donor":
        client.force_login(UserFactory())
    for url in (_statement_url(world.food), SUMMARY):
        response = client.get(url)
        assert response.status_code == 302 and "login" in response["Location"], url


def test_a_statement_of_no_such_month_or_charity_is_404(world, staff):
    assert staff.get(_statement_url(world.food, "2026-13")).status_code == 404
    assert staff.get(reverse("payouts:statement", args=[999999])).status_code == 404


def test_the_summary_page_shows_the_figures_and_every_check(world, staff):
    page = staff.get(SUMMARY, {"period": "2026-11"}).content.decode()
    assert "Platform money: November 2026" in page
    assert page.count(">OK<") == 5 and "MISMATCH" not in page
    assert "$57.30" in page  # collected in November


def test_the_summary_page_refuses_a_bad_month_plainly(world, staff):
    response = staff.get(SUMMARY, {"period": "2026-99"})
    assert response.status_code == 400
    assert "is not a month of the form YYYY-MM" in response.content.decode()


def test_the_admin_index_links_to_the_summary(staff):
    assert SUMMARY in staff.get("/admin/").content.decode()


def test_the_charity_page_shows_its_money_and_the_next_payout(world, staff, settings):
    settings.PAYOUT_MINIMUM_CENTS = 1000
    IrsImport.objects.create(source_name="eo_vt.csv", states=["VT"], rows=1,
                             imported_at=w.at(11, 1))  # fmt: skip
    crontab = CrontabSchedule.objects.create(minute="0", hour="7", day_of_month="3")
    # The entry migrate installs (config.schedules), set to the 3rd at 07:00 here.
    PeriodicTask.objects.update_or_create(
        name="Monthly payouts",
        defaults={"task": "payouts.tasks.monthly_payouts", "crontab": crontab, "enabled": True},
    )
    page = staff.get(f"{CHANGELIST}{world.arts.pk}/change/").content.decode()
    # Arts: $10.80 distributed, nothing paid out, $4.00 in payment, $10.80 owed.
    for figure in ("$10.80", "$0.00", "$4.00"):
        assert figure in page
    assert "(the monthly run)" in page
    assert " 3, 20" in page  # the 3rd of a month, e.g. "Thursday, December 3, 2026"
    assert "Would not pay: needs review" in page  # the import of VT did not list it
    assert "by hand (no Stripe account)" in page
    assert f"/payouts/statement/{world.arts.pk}/?period=" in page


def test_without_the_beat_entry_the_next_payout_is_not_scheduled(world, staff):
    PeriodicTask.objects.filter(name="Monthly payouts").delete()
    page = staff.get(f"{CHANGELIST}{world.food.pk}/change/").content.decode()
    assert "Not scheduled" in page


def test_the_needs_review_filter_and_column(staff, django_assert_max_num_queries):
    vt = IrsImport.objects.create(source_name="eo_vt.csv", states=["VT"], rows=2,
                                  imported_at=w.at(11, 1))  # fmt: skip
    facts = {"irs_status": "01", "irs_deductibility": "1", "irs_subsection": "03"}
    fine = CharityFactory(name="Listed", ein="030000011", irs_last_import=vt, **facts)
    lost = CharityFactory(name="Lost", ein="030000012", irs_last_import=vt,
                          **{**facts, "irs_deductibility": "2"})  # fmt: skip
    missing = CharityFactory(name="Missing", ein="030000013")
    no_ein = CharityFactory(name="No EIN", ein="")

    def listed(params):
        page = staff.get(CHANGELIST, params).content.decode()
        shown = {c for c in (fine, lost, missing, no_ein) if f"{CHANGELIST}{c.pk}/change/" in page}
        return shown, page

    shown, page = listed({"payouts": "review"})
    assert shown == {lost, missing}
    assert "deductibility 2" in page and "no IRS BMF import covers" not in page
    assert listed({"payouts": "eligible"})[0] == {fine, no_ein}
    CharityFactory.create_batch(20, ein="")
    with django_assert_max_num_queries(16) as few:
        staff.get(CHANGELIST)
    CharityFactory.create_batch(20, ein="")
    with django_assert_max_num_queries(len(few)):  # 20 more rows, no more queries
        staff.get(CHANGELIST)
