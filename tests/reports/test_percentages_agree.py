"""Percentages and amounts agree (one rule, core.templatetags.money.percentages): a donor's
split reads the same in the sentences, the report's chart, the dashboard chart and the CSV,
and its percentages add up to exactly 100."""

import csv
import io
import re
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.charts import split_bar_chart
from core.templatetags.money import percent_text, percentages
from distributions.models import Distribution
from portfolio.services import distribute_funds
from reports.models import Report
from reports.services import generate_reports
from tests.portfolio.scenario import NOW, WEEK, charity, paid

SHARE = re.compile(r"\((\d+)%\)</span>")


@given(st.lists(st.integers(min_value=0, max_value=10**9), max_size=30))
def test_percentages_add_up_to_100_and_each_is_the_floor_or_ceiling_of_its_share(amounts):
    shares = percentages(amounts)
    total = sum(amounts)
    assert len(shares) == len(amounts)
    if total == 0:
        assert shares == [0] * len(amounts)
        return
    assert sum(shares) == 100
    for amount, share in zip(amounts, shares, strict=True):
        exact = Fraction(100 * amount, total)
        assert share in (exact.__floor__(), exact.__ceil__())


def test_a_share_reads_as_all_or_less_than_one_percent_at_the_edges():
    assert percent_text(100, 1000, 1000) == "all"
    assert percent_text(0, 3, 1000) == "less than 1%"
    assert percent_text(42, 420, 1000) == "42%"


def test_the_rounding_that_once_showed_98_percent_now_adds_to_100():
    # Seven equal shares of 14.28...%: rounded one by one they add up to 98.
    assert sum(round(100 / 7) for _ in range(7)) == 98
    assert sum(percentages([1] * 7)) == 100
    chart = split_bar_chart([(f"C{i}", 143) for i in range(7)], title="Split")
    assert sum(int(x) for x in SHARE.findall(chart)) == 100


@pytest.mark.django_db
def test_sentences_chart_and_csv_agree_for_a_donors_week(client, alice):
    # Seven charities with the same need: $10.00 splits into 143s and 142s.
    for i in range(7):
        charity(name=f"Charity {i}", urgency=50, gap=1_000_000)
    paid(alice, 1000)
    distribute_funds(WEEK, now=NOW)
    generate_reports(WEEK)

    in_sentences = {}
    for row in Distribution.objects.select_related("charity"):
        match = re.search(r"(\d+)% of your \$10\.00", row.reason)
        assert match, row.reason
        in_sentences[row.charity.name] = int(match.group(1))
    assert sum(in_sentences.values()) == 100

    client.force_login(alice)
    report = Report.objects.get(user=alice)
    page = client.get(f"/reports/{report.pk}/").text
    in_chart = {
        name: int(share)
        for name, share in re.findall(
            r'chart-name">(Charity \d)</span> <span class="chart-value">· \$[\d.]+ \((\d+)%\)',
            page,
        )
    }
    assert in_chart == in_sentences

    body = b"".join(client.get("/dashboard/history.csv").streaming_content).decode()
    lines = list(csv.DictReader(io.StringIO(body)))
    assert {r["charity"]: int(r["percent_of_payment"]) for r in lines} == in_sentences
