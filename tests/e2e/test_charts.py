"""Charts in a real browser (see tests/e2e/conftest.py): on the weekly report and the
dashboard, at 1280 and 390 px, every label of every chart lies inside the chart and the
window, reads at the same fixed size at both widths, and shows a charity's whole name,
however long (core.charts draws text as HTML, never as SVG text that scales)."""

import datetime as dt

import pytest

from tests.e2e.conftest import DESKTOP, SCREENSHOTS, log_in
from tests.factories import CharityFactory, DistributionFactory, ReportFactory, SubscriptionFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE_390 = {"width": 390, "height": 844}
NAMES = [
    "The Greater Springfield Community Food Shelf and Town Library Friends Association",
    "Springfield Volunteer Fire Department Auxiliary and Emergency Housing Fund",
    "Connecticut River Valley Youth Mentoring, Tutoring and Summer Camp Programs",
    "Town Library",
    "Meals on Wheels",
]
LABEL_SIZES = {"chart-name": "15px", "chart-axis": "14px"}


def giving_history(donor, weeks=12):
    charities = [CharityFactory(name=name) for name in NAMES]
    subscription = SubscriptionFactory(user=donor, amount_cents=2500)
    newest = dt.date(2026, 11, 16)
    for week in range(weeks):
        week_start = newest - dt.timedelta(weeks=week)
        breakdown = []
        for i, charity in enumerate(charities):
            amount = 900 - 150 * i + 7 * week
            DistributionFactory(
                subscription=subscription, charity=charity, amount_cents=amount,
                week_start=week_start, distribution_date=week_start + dt.timedelta(days=7),
                reason=f"A share for {charity.name}.",
            )  # fmt: skip
            breakdown.append(
                {"charity_id": charity.pk, "charity_name": charity.name,
                 "amount_cents": amount, "reason": f"A share for {charity.name}."}
            )  # fmt: skip
        ReportFactory(
            user=donor, week_start=week_start, distribution_breakdown=breakdown,
            total_distributed_cents=sum(row["amount_cents"] for row in breakdown),
            charities_supported=len(charities),
        )  # fmt: skip
    return charities


def chart_labels(page) -> list[dict]:
    """Every label of every chart on the page, with its box, its chart's box, its
    computed font size and whether its text is cut (wider than its own box)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('.chart')].flatMap((chart, c) => {
             const box = chart.getBoundingClientRect();
             return [...chart.querySelectorAll('.chart-label, .chart-name, .chart-value')]
               .map(el => {
                 const r = el.getBoundingClientRect();
                 return {chart: c, kind: el.className, text: el.textContent,
                         left: r.left, right: r.right, top: r.top, bottom: r.bottom,
                         chartLeft: box.left, chartRight: box.right,
                         chartTop: box.top, chartBottom: box.bottom,
                         fontSize: getComputedStyle(el).fontSize,
                         cut: getComputedStyle(el).display !== 'inline'
                              && el.scrollWidth > el.clientWidth + 1};
               });
           })"""
    )


def check_labels(page, width: int) -> dict:
    labels = chart_labels(page)
    assert labels, "no chart on the page"
    sizes = {}
    for label in labels:
        where = f"{label['text']!r} at {width} px"
        assert label["left"] >= label["chartLeft"] - 0.5, where
        assert label["right"] <= label["chartRight"] + 0.5, where
        assert label["top"] >= label["chartTop"] - 0.5, where
        assert label["bottom"] <= label["chartBottom"] + 0.5, where
        assert label["left"] >= 0 and label["right"] <= width, where
        assert not label["cut"], where
        assert "…" not in label["text"], where
        sizes[(label["chart"], label["kind"], label["text"])] = label["fontSize"]
        for kind, size in LABEL_SIZES.items():
            if kind in label["kind"].split():
                assert label["fontSize"] == size, where
    # No label covers another (the axes' labels, each charity's line).
    tops = [la for la in labels if la["kind"].startswith("chart-label")]
    for n, one in enumerate(tops):
        for two in tops[n + 1 :]:
            if one["chart"] != two["chart"]:
                continue
            apart = (
                one["right"] <= two["left"] + 0.5
                or two["right"] <= one["left"] + 0.5
                or one["bottom"] <= two["top"] + 0.5
                or two["bottom"] <= one["top"] + 0.5
            )
            assert apart, f"{one['text']!r} and {two['text']!r} overlap at {width} px"
    return sizes


def names_shown(page) -> list[str]:
    return page.locator(".chart .chart-name").all_text_contents()


@pytest.mark.parametrize("path_name", ["report", "dashboard"])
def test_chart_labels_keep_their_size_and_stay_inside_at_1280_and_390_px(
    page, verified_donor, path_name
):
    charities = giving_history(verified_donor)
    log_in(page, verified_donor.email)
    newest = verified_donor.reports.order_by("-week_start").first()
    path = f"/reports/{newest.pk}/" if path_name == "report" else "/dashboard/"
    page.goto(path)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    seen = {}
    for viewport, suffix in ((DESKTOP, "1280"), (PHONE_390, "390")):
        page.set_viewport_size(viewport)
        seen[suffix] = check_labels(page, viewport["width"])
        assert sorted(names_shown(page)) == sorted(c.name for c in charities)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        page.locator(".chart").first.scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / f"charts-{path_name}-{suffix}.png"), full_page=True)
    # The same label reads at the same size at both widths: nothing scales with the page.
    assert seen["1280"] == seen["390"]
    # The longest names wrap onto several lines at 390 px rather than being cut.
    longest = page.locator(".chart .chart-name", has_text=NAMES[0]).first
    assert longest.evaluate("el => el.getClientRects().length") > 1
    assert page.csp_errors == []
