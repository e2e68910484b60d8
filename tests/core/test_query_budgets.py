"""Each page's SQL query count does not grow with the data behind it.

Every page is rendered once with one week of history and once with 100 weeks (and the
dashboard with 104 weeks x 10 charities); the counts must be equal and within budget.
The comment beside each budget names the queries.
"""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import NeedFactory, make_giving_history

pytestmark = pytest.mark.django_db


def count_queries(client, url) -> int:
    """Cold: with an empty cache, so cached parts (session, city choices, dashboard
    history) are counted as the queries they cost on a miss."""
    cache.clear()
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


# url builder -> budget. Signed-in pages start with 2 queries: session, user.
PAGES = {
    # newest week, giving per city, donors per city, charities per city
    "home": (lambda ctx: "/", 4 + 2),
    # filter choices (cities, states and categories of approved charities: one query,
    # cached), count, one page
    "charities": (lambda ctx: "/charities/", 3 + 2),
    # charity, current needs, weekly totals, total received
    "charity": (lambda ctx: f"/charities/{ctx['charity'].pk}/", 4 + 2),
    # markers
    "map": (lambda ctx: "/charities/map/", 1 + 2),
    # the ledger version with the subscriptions (one statement), then on a cache miss:
    # paid/given/waiting (one aggregate), the newest closed week, the city's label
    # (cached under the charities version), weekly totals, lifetime totals, per-charity
    # totals, newest split, giving years, newest report
    "dashboard": (lambda ctx: "/dashboard/", 10 + 2),
    # count, one page
    "reports": (lambda ctx: "/reports/", 2 + 2),
    # the report, what was paid for it and the fees (one aggregate), the charities' own
    # "what a gift does" lines (one query)
    "report": (lambda ctx: f"/reports/{ctx['report'].pk}/", 2 + 3),
    # the weeks whose gift includes money that waited, paid and fees per week and
    # subscription (one aggregate), every row (streamed in chunks)
    "history": (lambda ctx: "/dashboard/history.csv", 3 + 2),
    # per-charity totals of the year, what was paid in the year and the fees (one aggregate)
    "statement": (lambda ctx: "/dashboard/statement/2026/", 2 + 2),
}


def build(user, weeks):
    _, charities = make_giving_history(user, weeks=weeks, charities=3)
    for charity in charities:
        NeedFactory(charity=charity)
    return {"charity": charities[0], "report": user.reports.order_by("week_start").first()}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_the_query_count_does_not_grow_with_history(client, alice, bob, page):
    url_for, budget = PAGES[page]
    small = build(alice, weeks=1)
    client.force_login(alice)
    one_week = count_queries(client, url_for(small))
    big = build(bob, weeks=100)
    client.force_login(bob)
    hundred_weeks = count_queries(client, url_for(big))
    assert one_week == hundred_weeks
    assert hundred_weeks <= budget


def test_the_dashboard_of_two_years_with_ten_charities_takes_at_most_15_queries(
    client, alice, django_assert_max_num_queries
):
    # session, user, ledger version with the subscriptions, weekly totals (104 rows), lifetime
    # totals, per-charity totals (10 rows), newest split (10 rows), giving years, newest
    # report. (A second visit reads the last six from the cache.)
    make_giving_history(alice, weeks=104, charities=10)
    client.force_login(alice)
    with django_assert_max_num_queries(15):
        response = client.get("/dashboard/")
    assert response.status_code == 200
    assert len(response.context["history"]["weekly"]) == 104
    assert len(response.context["history"]["split"]) == 10
