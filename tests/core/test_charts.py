import datetime as dt

from core.charts import split_bar_chart, weekly_bar_chart


def test_the_weekly_chart_has_one_bar_per_week_with_a_tooltip():
    weeks = [(dt.date(2026, 11, 2), 1000), (dt.date(2026, 11, 9), 0), (dt.date(2026, 11, 16), 250)]
    svg = weekly_bar_chart(weeks, title="Giving")
    assert svg.count('class="chart-bar"') == 3
    assert "Week of Nov 16, 2026: $2.50" in svg
    assert 'role="img"' in svg and 'aria-label="Giving"' in svg


def test_the_split_chart_escapes_names_and_sums_the_tail():
    rows = [(f"<b>Charity {n}</b>", 100 * (n + 1)) for n in range(12)]
    svg = split_bar_chart(rows, title="Split", max_rows=5)
    assert "<b>" not in svg
    assert "&lt;b&gt;Charity 11&lt;/b&gt;" in svg
    assert "8 others" in svg
    assert svg.count("<rect") == 5


def test_empty_data_draws_nothing():
    assert weekly_bar_chart([], title="x") == ""
    assert split_bar_chart([], title="x") == ""
