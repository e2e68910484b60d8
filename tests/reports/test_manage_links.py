"""Every weekly report email carries a working manage link for each of the donor's own
gifts that is not cancelled, in its text and HTML parts (subscriptions.links)."""

import re

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from reports import services
from subscriptions.links import read_token
from tests.factories import DistributionFactory, SubscriptionFactory
from tests.portfolio.scenario import WEEK, charity, donor

pytestmark = pytest.mark.django_db

TEXT_LINK = re.compile(r"http://testserver(/manage/[^/\s]+/)")
HTML_LINK = re.compile(r'href="http://testserver(/manage/[^/"]+/)"')


def _give(subscription, amount=1000):
    DistributionFactory(
        subscription=subscription, charity=charity(), amount_cents=amount, week_start=WEEK
    )


def _send(capture) -> None:
    services.generate_reports(WEEK)
    with capture(execute=True):
        services.send_report_emails(WEEK)


def _tokens(paths) -> list[str]:
    return [path.split("/")[2] for path in paths]


def test_the_report_email_links_to_the_donors_own_gift(django_capture_on_commit_callbacks):
    ann = donor(email="ann@example.org")
    gift = SubscriptionFactory(user=ann, amount_cents=1200)
    _give(gift)
    other = SubscriptionFactory(user=donor(email="ben@example.org"), amount_cents=3400)
    _give(other)
    _send(django_capture_on_commit_callbacks)

    email = next(m for m in mail.outbox if m.to == ["ann@example.org"])
    [text_link] = TEXT_LINK.findall(email.body)
    html, _ = email.alternatives[0]
    [html_link] = HTML_LINK.findall(html)
    for path in (text_link, html_link):
        assert read_token(path.split("/")[2]) == gift
        page = Client().get(path)
        assert page.status_code == 200
        assert "$12.00" in page.content.decode()
        assert "$34.00" not in page.content.decode()


def test_each_live_gift_gets_its_own_link_and_a_cancelled_one_none(
    django_capture_on_commit_callbacks,
):
    ann = donor(email="ann@example.org")
    first = SubscriptionFactory(user=ann, amount_cents=1200)
    second = SubscriptionFactory(user=ann, amount_cents=2500, status="paused")
    stopped = SubscriptionFactory(user=ann, amount_cents=700, status="cancelled")
    _give(first)
    _give(stopped)
    _send(django_capture_on_commit_callbacks)

    [email] = mail.outbox
    named = [read_token(t) for t in _tokens(TEXT_LINK.findall(email.body))]
    assert named == [first, second]
    assert "$25.00 a week (paused)" in email.body
    html, _ = email.alternatives[0]
    assert [read_token(t) for t in _tokens(HTML_LINK.findall(html))] == [first, second]
    assert stopped not in named


def test_the_links_cost_one_query_for_the_whole_batch(django_capture_on_commit_callbacks):
    for n in range(6):
        _give(SubscriptionFactory(user=donor(email=f"d{n}@example.org")))
    services.generate_reports(WEEK)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.send_report_emails(WEEK)
    with CaptureQueriesContext(connection) as ctx:
        callbacks[0]()
    assert len(mail.outbox) == 6
    lookups = [
        q["sql"] for q in ctx.captured_queries if 'FROM "subscriptions_subscription"' in q["sql"]
    ]
    assert len(lookups) == 1, lookups
