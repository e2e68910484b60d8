"""No page, email, admin message or command says "1 charities": a small world with exactly
one of each thing (one charity with one need and one member, one donor with one
subscription paying once, so one row, one report, one payout...) is shown on every main
page (public, donor, portal, staff admin) and run through the main commands, and all of
it is read for "1" before a plural noun.

The nouns are the site's vocabulary, written out here (not derived from the code under
test): a new page or line that counts one thing with a plural fails this test."""

import datetime as dt
import html
import re
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib import admin
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from charities.models import Charity, CharityStatus
from distributions.models import Distribution
from needs.models import Need
from reports.models import Report
from subscriptions.models import Contribution
from tests.factories import (
    CharityFactory,
    CharityMemberFactory,
    NeedFactory,
    SubscriptionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

VOCABULARY = """
    accounts actions applications approvals attempts cents changes charges charities
    cities columns contributions days differences donations donors drifts editors emails
    entries errors events feeds fees files gifts hours invitations invoices items lines
    logos markers members minutes months needs owners pages passes payments payouts
    people places plans problems profiles records reminders reports requests rows runs
    seconds slices statements states subscriptions times transfers users weeks years
"""
PLURALS = VOCABULARY.split()
# "1", then at most two words that are not a preposition or the like ("1 other places",
# "1 vetted local charities", but not "1 week with gifts"), then a plural.
LINKS = "a|an|and|at|by|for|from|in|is|of|on|or|per|the|to|was|were|with"
ONE_WITH_A_PLURAL = re.compile(
    r"(?<![\d.,$-])\b1 (?:(?!(?:"
    + LINKS
    + r")\b)[A-Za-z-]+ ){0,2}(?:"
    + "|".join(PLURALS)
    + r")\b",
    re.IGNORECASE,
)
# Text in separate blocks (a table cell and the next, a label and the next field's) is
# not one phrase: block tags become a stop the pattern cannot cross.
BLOCK = re.compile(
    r"</?(?:address|article|aside|br|caption|dd|div|dl|dt|fieldset|figcaption|figure|footer|"
    r"form|h[1-6]|header|hr|label|legend|li|main|nav|ol|option|p|section|select|table|"
    r"tbody|td|tfoot|th|thead|tr|ul)\b[^>]*>",
    re.IGNORECASE,
)

ZONE = ZoneInfo(settings.TIME_ZONE)
NOW = dt.datetime(2026, 12, 1, 12, tzinfo=ZONE)  # a Tuesday: November is over
WEEK = dt.date(2026, 11, 23)  # the last week that has ended at NOW
PERIOD = "2026-11"


def ones_with_a_plural(text: str) -> list[str]:
    return [m.group(0) for m in ONE_WITH_A_PLURAL.finditer(text)]


def test_the_pattern_finds_what_it_is_meant_to_find():
    said = "Given in 1 rows to 1 vetted local charities; 1 other places; 11 charities; $1 days"
    assert ones_with_a_plural(said) == ["1 rows", "1 vetted local charities", "1 other places"]
    assert ones_with_a_plural("1 charity, 1 row, 21 donors, 1.5 weeks, 2026-1 weeks") == []
    assert ones_with_a_plural("The last 1 week with gifts") == []
    assert readable("<dd>1</dd><dt>Charities</dt><p>In <b>1</b> weeks</p>") == (
        "1 ¶ Charities ¶ In 1 weeks"
    )


def readable(page: str) -> str:
    """A page's words: its text and the text of its labels (aria-label, title, alt)."""
    labels = re.findall(r'(?:aria-label|title|alt)="([^"]*)"', page)
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.DOTALL | re.IGNORECASE)
    text = re.sub(r"<[^>]+>", " ", BLOCK.sub(" ¶ ", text))
    text = " ".join(html.unescape(" ¶ ".join([text, *labels])).split())
    return re.sub(r"¶( ¶)+", "¶", text).strip(" ¶")


@pytest.fixture
def now(monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)
    return NOW


@pytest.fixture
def world(now, settings, django_capture_on_commit_callbacks):
    """One of everything: one approved charity (no EIN: payable) with one need and one
    member, one donor with one subscription that paid once in WEEK, the week run (one
    row, one report, one email), November's payouts (one payout)."""
    settings.DEMO_BILLING = False
    settings.PAYOUT_MINIMUM_CENTS = 100
    charity = CharityFactory(name="Food Shelf", mission="Feeds Springfield.", gift_line="Meals.")
    NeedFactory(charity=charity, urgency_score=80, funding_gap_cents=500_000,
                last_updated=NOW - dt.timedelta(days=2), description="Winter coats")  # fmt: skip
    member = UserFactory(email="olive@example.org", name="Olive", city="", state="", zip_code="")
    CharityMemberFactory(charity=charity, user=member, role="owner")
    donor = UserFactory(email="alice@example.org", name="Alice")
    subscription = SubscriptionFactory(
        user=donor, amount_cents=2500, stripe_subscription_id="sub_test_one"
    )
    from tests.factories import ContributionFactory

    ContributionFactory(
        subscription=subscription,
        amount_cents=2500,
        paid_at=dt.datetime(2026, 11, 24, 12, tzinfo=ZONE),
    )
    staff = UserFactory(
        email="carol@example.org", name="Carol", is_staff=True, is_superuser=True,
        city="", state="", zip_code="",
    )  # fmt: skip
    for user in (member, donor, staff):
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("run_distribution", "--week", WEEK.isoformat(), stdout=out)
        call_command("run_payouts", "--period", PERIOD, stdout=out)
    assert Distribution.objects.count() == 1 and Report.objects.count() == 1
    assert len(mail.outbox) == 1
    return {
        "charity": charity,
        "member": member,
        "donor": donor,
        "staff": staff,
        "subscription": subscription,
        "out": out.getvalue(),
    }


def visit(user, paths) -> dict[str, str]:
    client = Client()
    if user is not None:
        client.force_login(user)
    pages = {}
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        if "html" in response.get("Content-Type", ""):
            pages[path] = readable(response.content.decode())
    return pages


def admin_paths() -> list[str]:
    """Every model's admin list, and the change page of its first row."""
    paths = ["/admin/", f"/admin/payouts/summary/?period={PERIOD}"]
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        paths.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        first = model_admin.get_queryset(_AdminRequest()).first()
        if first is not None:
            paths.append(
                reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[first.pk])
            )
    return paths


class _AdminRequest:
    """Enough of a request for ModelAdmin.get_queryset (which only orders and annotates)."""

    def __init__(self):
        from django.contrib.auth.models import AnonymousUser

        self.user = AnonymousUser()
        self.GET = {}


def test_no_page_email_or_command_says_1_with_a_plural(world, settings, tmp_path):
    charity, member, donor = world["charity"], world["member"], world["donor"]
    report = Report.objects.get()
    c = charity.pk
    pages = {}
    pages |= visit(
        None,
        [
            "/",
            "/charities/",
            f"/charities/{c}/",
            "/charities/map/",
            "/transparency/",
            f"/transparency/{WEEK}/",
            "/accounts/login/",
            "/accounts/signup/",
            "/accounts/password/reset/",
        ],
    )
    pages |= visit(
        donor,
        [
            "/dashboard/",
            "/reports/",
            f"/reports/{report.pk}/",
            f"/dashboard/statement/{WEEK.year}/",
            "/accounts/profile/",
            "/subscribe/",
            "/accounts/email/",
            "/accounts/password/change/",
        ],
    )
    pages |= visit(
        member,
        [
            "/portal/",
            f"/portal/{c}/",
            f"/portal/{c}/profile/",
            f"/portal/{c}/members/",
            f"/portal/{c}/needs/",
            f"/portal/{c}/money/",
            f"/portal/{c}/money/statement/?period={PERIOD}",
        ],
    )
    pages |= visit(world["staff"], [*admin_paths(), f"/payouts/statement/{c}/?period={PERIOD}"])
    emails = {f"email {m.subject}": m.subject + " " + m.body for m in mail.outbox}
    for m in mail.outbox:
        for body, kind in getattr(m, "alternatives", []):
            if kind == "text/html":
                emails[f"email {m.subject} (html)"] = readable(body)

    found = {where: ones_with_a_plural(text) for where, text in {**pages, **emails}.items()}
    assert {where: said for where, said in found.items() if said} == {}
    # The world really has one of each, so the pages did count one.
    assert Need.objects.count() == 1 and Contribution.objects.count() == 1
    assert "1 charity" in pages["/"] or "1 vetted local charity" in pages["/"]


def _command(*args) -> str:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def test_no_command_says_1_with_a_plural(
    world, settings, tmp_path, django_capture_on_commit_callbacks
):
    irs = settings.BASE_DIR / "charities" / "data" / "irs_bmf_demo.csv"
    header, first = irs.read_text(encoding="utf-8").splitlines()[:2]
    one_row = tmp_path / "eo_one.csv"
    one_row.write_text(f"{header}\n{first}\n", encoding="utf-8")
    needs = tmp_path / "needs.csv"
    needs.write_text(
        f"charity_id,category,urgency_score,funding_gap\n{world['charity'].pk},housing,50,100\n",
        encoding="utf-8",
    )
    outputs = {"run_distribution and run_payouts (the world)": world["out"]}
    with django_capture_on_commit_callbacks(execute=True):
        for args in [
            ("run_distribution", "--week", WEEK.isoformat()),
            ("run_distribution", "--week", WEEK.isoformat(), "--dry-run"),
            ("generate_reports", "--week", WEEK.isoformat()),
            ("verify_week", WEEK.isoformat()),
            ("money_report", "--period", PERIOD),
            ("run_payouts", "--period", PERIOD, "--dry-run"),
            ("import_needs", str(needs)),
            ("import_charities", str(one_row)),
            ("geocode_charities", "--offline"),
            ("setup_schedules",),
        ]:
            outputs[" ".join(args)] = _command(*args)

    found = {args: ones_with_a_plural(text) for args, text in outputs.items()}
    assert {args: said for args, said in found.items() if said} == {}
    assert "1 row" in outputs["run_distribution and run_payouts (the world)"]


def test_admin_actions_say_1_charity(world, client):
    client.force_login(world["staff"])
    for action, status in [("approve_selected", "approved"), ("reject_selected", "rejected")]:
        pending = CharityFactory(
            name=f"To be {status}", verification_status=CharityStatus.PENDING, approved_at=None
        )
        data = {"action": action, "_selected_action": [pending.pk], "note": "Not a charity."}
        if action == "reject_selected":
            data["apply"] = "1"
        else:
            data["approve_anyway"] = "1"  # it has no need yet: past the warning step
        response = client.post("/admin/charities/charity/", data, follow=True)
        said = " ".join(str(m) for m in response.context["messages"])
        assert ones_with_a_plural(said) == [], said
        assert Charity.objects.get(pk=pending.pk).verification_status == status, said
