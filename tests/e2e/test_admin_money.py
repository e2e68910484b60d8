"""The admin's money pages in a real browser (see tests/e2e/conftest.py), as staff see
them at 1280 px with the admin's side menu open:

- "Held money": each place's row shows the ledger's held money (worked out here from the
  rows this test made), since when, why and what would release it, and the totals;
- the charity, need, run and contribution lists fit the screen: no sideways scrolling
  of the list, and the EIN, date, urgency and gap columns are on screen;
- "Preview a week" -> "Run this week…" -> confirm: the week is run, the run list shows it.

Screenshots at 1280 and 390 px go to artifacts/screenshots/ (admin-*.png).
"""

import datetime as dt
from collections import defaultdict

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.utils import timezone

from charities.selectors import get_place_label
from core.places import format_place
from core.templatetags.money import dollars
from core.weeks import last_completed_week, week_bounds
from distributions.models import NO_CITY_LABEL, DistributionRun
from portfolio.services import distribute_funds, get_distribution_preview
from subscriptions.models import Contribution
from tests.e2e.conftest import DESKTOP, SCREENSHOTS, log_in
from tests.factories import CharityFactory, NeedFactory, UserFactory
from tests.portfolio.scenario import donor, paid

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE_390 = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def _no_demo_billing(settings):
    settings.DEMO_BILLING = False


def shoot(page, name: str) -> None:
    """The page at 1280 and 390 px; at 390 the page itself must not scroll sideways
    (a wide table scrolls inside its own box)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(SCREENSHOTS / f"admin-{name}-1280.png"), full_page=True)
    page.set_viewport_size(PHONE_390)
    page.wait_for_timeout(100)
    page.screenshot(path=str(SCREENSHOTS / f"admin-{name}-390.png"), full_page=True)
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    page.set_viewport_size(DESKTOP)
    assert scroll <= inner + 1, f"{name} scrolls sideways at 390 px ({scroll} > {inner} px)"


def during(week, days=2):
    return week_bounds(week)[0] + dt.timedelta(days=days, hours=12)


@pytest.fixture
def world():
    """Last week's money, run two weeks ago's: Springfield, VT gives; Laramie, WY holds
    (one charity pending); Casper, WY holds (its charity's need is stale); donors with
    no city hold. Long names, as real charities have."""
    week = last_completed_week(timezone.now())
    old = week - dt.timedelta(weeks=1)
    for name, urgency, gap in (
        ("Springfield Area Community Food Shelf and Warming Center", 90, 1_250_000),
        ("Friends of the Springfield Town Library Association", 55, 4_700_000),
    ):
        NeedFactory(
            charity=CharityFactory(name=name, ein=f"03{urgency:07d}"),
            urgency_score=urgency,
            funding_gap_cents=gap,
        )
    CharityFactory(
        name="Laramie Youth Wrestling Boosters Club Incorporated",
        city="Laramie",
        state="WY",
        zip_code="82070",
        verification_status="pending",
        approved_at=None,
        ein="830000001",
    )
    NeedFactory(
        charity=CharityFactory(name="Casper Food Pantry", city="Casper", state="WY"),
        last_updated=timezone.now() - dt.timedelta(days=settings.NEEDS_MAX_AGE_DAYS + 3),
    )
    for amount in (2500, 1000, 5000):
        paid(donor("Springfield", "VT"), amount, when=during(old))
    laramie = paid(donor("Laramie", "WY"), 700, when=during(old))
    paid(donor("Laramie", "WY"), 300, when=during(old, days=4))
    paid(donor("Casper", "WY"), 1500, when=during(old))
    paid(donor("", ""), 400, when=during(old))
    distribute_funds(old)
    paid(donor("Springfield", "VT"), 1200, when=during(week))
    paid(laramie.subscription.user, 700, when=during(week), subscription=laramie.subscription)
    return week


def held_by_place() -> dict[str, int]:
    """The ledger's held money per place label, worked out from the contributions."""
    out: dict[str, int] = defaultdict(int)
    for contribution in Contribution.objects.filter(
        distributed_week__isnull=True, net_cents__isnull=False
    ).select_related("subscription__user"):
        user = contribution.subscription.user
        label = (
            format_place(get_place_label(user.city, user.state), user.state)
            if user.city
            else NO_CITY_LABEL
        )
        out[label] += contribution.net_cents
    return dict(out)


@pytest.fixture
def staff(page):
    user = UserFactory(
        email="stella@example.org", is_staff=True, is_superuser=True, city="", state=""
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    log_in(page, user.email)
    return user


def test_the_held_money_page_shows_the_ledgers_held_money_by_place(page, staff, world):
    expected = held_by_place()
    assert len(expected) == 4

    page.goto("/admin/")
    page.get_by_role("link", name="Held money").click()
    page.wait_for_selector("#held-money")
    for label, cents in expected.items():
        row = page.locator(f'#held-money tbody tr[data-place="{label}"]')
        assert row.count() == 1, label
        assert row.locator("td").nth(0).inner_text().split("\n")[0] == dollars(cents)
    assert page.locator("#held-total").inner_text() == dollars(sum(expected.values()))
    laramie = page.locator('#held-money tr[data-place="Laramie, WY"]').inner_text()
    assert "No approved charity in Laramie, WY." in laramie
    assert "Approve a charity in Laramie, WY" in laramie
    casper = page.locator('#held-money tr[data-place="Casper, WY"]').inner_text()
    assert "adds a current need" in casper
    # The link takes staff to Laramie's pending charity.
    page.locator('#held-money tr[data-place="Laramie, WY"] a').click()
    page.wait_for_selector("#result_list")
    assert "Laramie Youth Wrestling" in page.locator("#result_list").inner_text()
    page.go_back()

    table = page.evaluate(
        "[document.querySelector('#held-money').scrollWidth,"
        " document.querySelector('.money-table-wrap').clientWidth]"
    )
    assert table[0] <= table[1], f"the held money table is wider than its box: {table}"
    shoot(page, "held-money")
    assert page.csp_errors == []


LISTS = [
    ("/admin/charities/charity/", ["EIN", "Added", "Needs", "Payouts"]),
    ("/admin/needs/need/", ["Urgency", "Gap", "Updated"]),
    ("/admin/distributions/distributionrun/", ["Week", "Held", "Finished"]),
    ("/admin/subscriptions/contribution/", ["Paid on", "Given in week", "Net (given)"]),
]


def test_the_lists_fit_1280_px_with_their_columns_on_screen(page, staff, world):
    page.set_viewport_size(DESKTOP)
    for path, columns in LISTS:
        page.goto(path)
        page.wait_for_selector("#result_list")
        assert page.locator("#nav-sidebar").is_visible()  # the admin's side menu is open
        table, box = page.evaluate(
            "[document.querySelector('#result_list').scrollWidth,"
            " document.querySelector('#changelist-form .results').clientWidth]"
        )
        assert table <= box, f"{path}: the list is {table} px in a {box} px box"
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= DESKTOP["width"], f"{path} scrolls sideways ({scroll} px)"
        for column in columns:
            header = page.locator("#result_list thead th", has_text=column).first
            assert header.is_visible(), f"{path}: no {column} column"
            right = header.evaluate("h => h.getBoundingClientRect().right")
            assert right <= box + page.evaluate(
                "document.querySelector('#changelist-form .results').getBoundingClientRect().left"
            ), f"{path}: {column} is cut off"
        name = path.strip("/").split("/")[-1]
        page.screenshot(path=str(SCREENSHOTS / f"admin-list-{name}-1280.png"), full_page=False)
    assert page.csp_errors == []


def test_staff_preview_a_week_and_run_it_from_the_admin(page, staff, world):
    week = world
    to_give = sum(plan.distributed_cents for plan in get_distribution_preview(week))
    assert to_give
    page.goto("/admin/money/preview-week/")
    assert page.locator("h2").inner_text() == f"Week of {week:%b} {week.day}, {week.year}"
    assert page.locator('.preview-place[data-place="Springfield, VT"]').count() == 1
    shoot(page, "preview-week")
    page.get_by_role("button", name="Run this week…").click()
    page.wait_for_selector("button.default")
    shoot(page, "run-week-confirm")
    page.get_by_role("button", name=f"Yes, run the week of {week:%b} {week.day}").click()
    page.wait_for_selector(".messagelist")
    assert "Queued the distribution" in page.locator(".messagelist").inner_text()
    run = DistributionRun.objects.get(week_start=week)
    assert run.status == DistributionRun.Status.COMPLETED
    assert run.distributed_cents == to_give
    page.goto(f"/admin/money/preview-week/?week={week.isoformat()}")
    assert "was already distributed" in page.locator("#run-refused").inner_text()
    assert page.csp_errors == []
