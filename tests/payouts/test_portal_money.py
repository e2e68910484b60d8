"""The charity's money pages in its portal (payouts.portal): what it received week by
week with donors counted and never named, what is owed, its payouts and statements, and
Stripe Connect onboarding, which only an owner starts.

Who may see what: `owner` and `editor` work for the charity (`charity`, conftest); the
other charity's rows share the same weeks and must never show here.
"""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from charities.models import CharityStatus
from core.templatetags.money import format_cents
from core.weeks import last_completed_week
from distributions.models import Distribution
from payouts.models import Payout, PayoutAccount
from payouts.selectors import PORTAL_WEEKS, get_charity_weekly_money
from tests.factories import CharityFactory, CharityMemberFactory
from tests.payouts.conftest import ledger

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(charity):
    return CharityMemberFactory(charity=charity, role="owner")


@pytest.fixture
def editor(charity):
    return CharityMemberFactory(charity=charity, role="editor")


def login(client, member):
    client.force_login(member.user)
    return client


def money_url(charity):
    return reverse("portal:money", args=[charity.pk])


@pytest.fixture
def world(charity):
    """Rows over several weeks for this charity and another one, one week out of the
    page's window, and payouts of both."""
    last = last_completed_week(timezone.now())
    weeks = [last, last - dt.timedelta(weeks=1), last - dt.timedelta(weeks=4)]
    other = CharityFactory(name="Shelbyville Library")
    ledger(charity, weeks[0], [1234, 2500, 99])
    ledger(charity, weeks[1], [700])
    ledger(charity, weeks[1], [301, 4])  # a rerun's rows: a second write of the week
    ledger(charity, weeks[2], [10_000, 5])
    ledger(charity, last - dt.timedelta(weeks=PORTAL_WEEKS + 2), [77_777])  # out of window
    ledger(other, weeks[0], [55_555])
    ledger(other, weeks[1], [66_666])
    now = timezone.now()
    manual = Payout.objects.create(charity=charity, period=dt.date(2026, 10, 1),
                                   amount_cents=800, method="manual", status="paid",
                                   manual_reference="CHK 4417", created_at=now,
                                   settled_at=now)  # fmt: skip
    stripe = Payout.objects.create(charity=charity, period=dt.date(2026, 11, 1),
                                   amount_cents=1200, method="stripe", status="pending",
                                   stripe_account_id="acct_portal1",
                                   stripe_transfer_id="tr_portal1", created_at=now)  # fmt: skip
    Payout.objects.create(charity=other, period=dt.date(2026, 10, 1), amount_cents=9999,
                          method="manual", status="sent", manual_reference="OTHER 1",
                          created_at=now)  # fmt: skip
    return {"weeks": weeks, "other": other, "manual": manual, "stripe": stripe}


def independent_week(charity, week):
    rows = list(Distribution.objects.filter(charity=charity, week_start=week))
    return sum(r.amount_cents for r in rows), len({r.subscription_id for r in rows})


class TestWeeklySeries:
    def test_it_sums_and_counts_each_week_against_the_rows(self, charity, world,
                                                           django_assert_num_queries):  # fmt: skip
        last = world["weeks"][0]
        with django_assert_num_queries(1):
            weekly = get_charity_weekly_money(charity, last_week=last)
        assert len(weekly.weeks) == PORTAL_WEEKS
        assert weekly.weeks[-1].week_start == last
        assert weekly.weeks[0].week_start == last - dt.timedelta(weeks=PORTAL_WEEKS - 1)
        by_week = {w.week_start: w for w in weekly.weeks}
        for week in world["weeks"]:
            amount, donors = independent_week(charity, week)
            assert (by_week[week].amount_cents, by_week[week].donors) == (amount, donors)
        assert by_week[world["weeks"][0]].amount_cents == 1234 + 2500 + 99
        assert by_week[world["weeks"][1]].donors == 3
        assert weekly.total_cents == sum(independent_week(charity, w)[0] for w in world["weeks"])
        assert sum(1 for w in weekly.weeks if w.amount_cents == 0) == PORTAL_WEEKS - 3


class TestMoneyPage:
    def test_it_shows_only_this_charitys_money(self, client, owner, charity, world):
        page = login(client, owner).get(money_url(charity)).content.decode()
        window_total = 1234 + 2500 + 99 + 700 + 301 + 4 + 10_000 + 5
        assert format_cents(window_total) in page
        assert "$777.77" not in page  # its week is out of the window
        assert format_cents(window_total + 77_777) in page  # distributed, all time
        assert "$555.55" not in page and "$666.66" not in page and "$99.99" not in page
        assert "Shelbyville" not in page and "OTHER 1" not in page
        # The chart is drawn on the server: the page loads no script but the site-wide one
        # that makes wide tables keyboard-scrollable (base.html).
        own = page.replace('<script src="/static/js/scroll-regions.js" defer></script>', "")
        assert 'class="chart chart-weekly"' in page and "<script" not in own
        assert "style=" not in page

    def test_donors_are_counted_never_named(self, client, owner, charity, world):
        page = login(client, owner).get(money_url(charity)).content.decode()
        rows = Distribution.objects.filter(charity=charity).select_related("subscription__user")
        donors = {row.subscription.user for row in rows}
        assert donors
        for user in donors:
            assert user.email not in page and user.name not in page
        assert '<td class="num">3</td>' in page  # week 0's three donors

    def test_it_lists_payouts_with_reference_and_statement(self, client, owner, charity, world):
        page = login(client, owner).get(money_url(charity)).content.decode()
        assert "CHK 4417" in page and "tr_portal1" in page
        assert "Paid" in page and "Pending" in page
        statement = reverse("portal:money_statement", args=[charity.pk])
        assert f"{statement}?period=2026-10" in page and f"{statement}?period=2026-11" in page
        assert "$8.00" in page and "$12.00" in page

    def test_owed_and_next_payout(self, client, owner, charity, world):
        page = login(client, owner).get(money_url(charity)).content.decode()
        distributed = sum(Distribution.objects.filter(charity=charity)
                          .values_list("amount_cents", flat=True))  # fmt: skip
        assert format_cents(distributed - 800) in page  # owed: minus the paid payout
        assert "monthly payout" in page

    def test_the_overview_links_to_it(self, client, editor, charity):
        page = login(client, editor).get(reverse("portal:overview", args=[charity.pk]))
        assert money_url(charity) in page.content.decode()

    def test_its_queries_do_not_grow_with_payouts(self, client, owner, charity, world,
                                                  django_assert_max_num_queries):  # fmt: skip
        login(client, owner)
        # session and user, membership, money (2), next payout (task, eligibility...),
        # weeks (1), payouts (1), account (1): bounded whatever the number of rows
        with django_assert_max_num_queries(14):
            assert client.get(money_url(charity)).status_code == 200


class TestStatement:
    def test_a_member_gets_the_months_statement(self, client, editor, charity, world):
        url = reverse("portal:money_statement", args=[charity.pk]) + "?period=2026-10"
        page = login(client, editor).get(url).content.decode()
        assert "Payout statement for October 2026" in page
        assert "CHK 4417" in page and "OTHER 1" not in page and "tr_portal1" not in page
        assert "/admin/" not in page.split("<main")[-1]

    def test_a_bad_month_is_404(self, client, editor, charity):
        url = reverse("portal:money_statement", args=[charity.pk]) + "?period=2026-13"
        assert login(client, editor).get(url).status_code == 404

    def test_another_charitys_member_gets_404(self, client, charity, world):
        stranger = CharityMemberFactory(charity=world["other"], role="owner")
        url = reverse("portal:money_statement", args=[charity.pk]) + "?period=2026-10"
        assert login(client, stranger).get(url).status_code == 404

    def test_the_staff_statement_stays_staff_only(self, client, owner, charity):
        url = reverse("payouts:statement", args=[charity.pk]) + "?period=2026-10"
        response = login(client, owner).get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


class TestStripeOnboarding:
    def test_demo_billing_says_so_without_a_button(self, client, owner, charity, settings):
        settings.STRIPE_SECRET_KEY = ""
        page = login(client, owner).get(money_url(charity)).content.decode()
        assert "Stripe payouts are not available on this site" in page
        assert reverse("portal:money_onboard", args=[charity.pk]) not in page
        response = client.post(reverse("portal:money_onboard", args=[charity.pk]), follow=True)
        assert "we pay you by hand" in response.content.decode()
        assert not PayoutAccount.objects.exists()

    def test_an_owner_sets_up_stripe_and_comes_back(self, client, owner, charity, fake):
        page = login(client, owner).get(money_url(charity)).content.decode()
        assert "has no Stripe account yet" in page and "Set up Stripe payouts" in page
        response = client.post(reverse("portal:money_onboard", args=[charity.pk]))
        account = PayoutAccount.objects.get(charity=charity)
        assert response.status_code == 302
        assert response["Location"].startswith(
            f"https://connect.stripe.com/setup/e/{account.stripe_account_id}/"
        )
        link = fake.calls("POST", "/v1/account_links")[0].params
        assert link["return_url"].endswith(money_url(charity) + "?stripe=returned")
        assert link["refresh_url"].endswith(money_url(charity) + "?stripe=refresh")

        page = client.get(money_url(charity) + "?stripe=returned").content.decode()
        assert "Stripe still needs" in page and "the bank account payouts go to" in page
        assert "Continue Stripe payouts setup" in page

        fake.accounts[account.stripe_account_id].update(
            details_submitted=True, payouts_enabled=True, charges_enabled=True,
            requirements={"currently_due": [], "disabled_reason": None})  # fmt: skip
        page = client.get(money_url(charity) + "?stripe=returned").content.decode()
        account.refresh_from_db()
        assert account.ready
        assert "Stripe is set up" in page and "Your Stripe account is ready" in page
        assert "Continue Stripe payouts setup" not in page
        assert len(fake.calls("POST", "/v1/accounts")) == 1

    def test_an_expired_link_offers_the_button_again_making_nothing(self, client, owner,
                                                                    charity, fake):  # fmt: skip
        page = login(client, owner).get(money_url(charity) + "?stripe=refresh").content.decode()
        assert "The Stripe link expired" in page and "Set up Stripe payouts" in page
        assert not fake.calls("POST", "/v1/accounts")

    def test_an_editor_sees_the_status_but_not_the_button(self, client, editor, charity, fake):
        obj = fake.add_account(ready=False, charity_id=charity.pk)
        PayoutAccount.objects.create(charity=charity, stripe_account_id=obj["id"],
                                     requirements_due=["external_account"])  # fmt: skip
        page = login(client, editor).get(money_url(charity)).content.decode()
        assert "not ready yet" in page and "the bank account payouts go to" in page
        onboard = reverse("portal:money_onboard", args=[charity.pk])
        assert onboard not in page and "An owner of" in page
        assert client.post(onboard).status_code == 404
        assert client.get(onboard).status_code == 405
        assert not fake.calls("POST", "/v1/account_links")

    def test_a_stripe_error_is_a_plain_message(self, client, owner, charity, fake):
        fake.fail_next("POST", "/v1/accounts", status=400,
                       message="Secret developer detail sk_live_xyz")  # fmt: skip
        response = login(client, owner).post(
            reverse("portal:money_onboard", args=[charity.pk]), follow=True
        )
        page = response.content.decode()
        assert response.status_code == 200
        assert "Stripe could not be reached" in page and "developer detail" not in page
        assert not PayoutAccount.objects.exists()

    def test_a_charity_not_approved_gets_no_account(self, client, fake):
        pending = CharityFactory(verification_status=CharityStatus.PENDING)
        owner = CharityMemberFactory(charity=pending, role="owner")
        page = login(client, owner).get(money_url(pending)).content.decode()
        assert "open once your charity is approved" in page
        response = client.post(reverse("portal:money_onboard", args=[pending.pk]), follow=True)
        assert "not approved yet" in response.content.decode()
        assert not fake.calls("POST", "/v1/accounts")
