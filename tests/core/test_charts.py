"""core.charts: server-rendered charts whose text is HTML (a fixed size from site.css),
never SVG <text> that would scale with the page. How they look at 1280 and 390 px is
checked in a browser by tests/e2e/test_charts.py."""

import datetime as dt
import re

from core.charts import split_bar_chart, weekly_bar_chart

WEEKS = [(dt.date(2026, 11, 2), 1000), (dt.date(2026, 11, 9), 0), (dt.date(2026, 11, 16), 250)]


def test_the_weekly_chart_has_one_bar_per_week_with_a_tooltip():
    html = weekly_bar_chart(WEEKS, title="Giving")
    assert html.count('class="chart-bar"') == 3
    assert "Week of Nov 16, 2026: $2.50" in html
    assert 'role="img"' in html
    assert 'aria-label="Giving: 3 weeks from Nov 2, 2026 to Nov 16, 2026, $12.50 in all, ' in html


def test_no_chart_draws_text_inside_its_svg():
    for html in (
        weekly_bar_chart(WEEKS, title="Giving"),
        split_bar_chart([("A charity with a very long name indeed", 500)], title="Split"),
    ):
        for svg in re.findall(r"<svg.*?</svg>", html, flags=re.S):
            assert "<text" not in svg
        assert "viewBox" not in html or 'preserveAspectRatio="none"' in html


def test_the_weekly_axes_name_the_first_and_last_week_and_round_amounts():
    html = weekly_bar_chart(WEEKS, title="Giving")
    axis = re.findall(r'chart-axis">([^<]*)<', html)
    # top of the axis: $10.00 is the peak, so the axis goes 0, $5, $10
    assert axis == ["$10", "$5", "$0", "Nov 2, 2026", "Nov 16, 2026"]
    assert re.findall(r'chart-axis">([^<]*)<', weekly_bar_chart(WEEKS[2:], title="x")) == [
        "$5",
        "$2.50",
        "$0",
        "Nov 16, 2026",
    ]


def test_a_week_of_zeros_still_has_an_axis():
    html = weekly_bar_chart([(dt.date(2026, 11, 2), 0)], title="Giving")
    assert re.findall(r'chart-axis">([^<]*)<', html)[:3] == ["$1", "$0.50", "$0"]


def test_the_split_chart_shows_every_name_in_full_and_escapes_it():
    long_name = "The Greater Springfield Community Food Shelf and Town Library Friends"
    rows = [(long_name, 300), ("<b>Bold</b>", 100)]
    html = split_bar_chart(rows, title="Split")
    assert f'<span class="chart-name">{long_name}</span>' in html
    assert "…" not in html
    assert "<b>" not in html and "&lt;b&gt;Bold&lt;/b&gt;" in html
    assert '<span class="chart-value">· $3.00 (75%)</span>' in html
    # bars are as long as their share of the largest row
    assert re.findall(r'width="([\d.]+)%"', html) == ["100.0", "33.3"]


def test_the_split_chart_sums_the_tail():
    rows = [(f"Charity {n}", 100 * (n + 1)) for n in range(12)]
    html = split_bar_chart(rows, title="Split", max_rows=5)
    assert "8 others" in html
    assert html.count("<rect") == 5
    assert html.count('<li class="chart-row">') == 5


def test_empty_data_draws_nothing():
    assert weekly_bar_chart([], title="x") == ""
    assert split_bar_chart([], title="x") == ""
    assert split_bar_chart([("Nothing given", 0)], title="x") == ""
