"""Needs in the admin: freshness filter on charities, urgency history, derived rows."""

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from needs.models import MoneyReceived, Need, NeedChange
from needs.services import record_money_received
from tests.factories import CharityFactory, NeedFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    """Staff who may manage charities and needs (not the vetting permission)."""
    user = UserFactory(email="sam@example.org", is_staff=True, city="", state="", zip_code="")
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label__in=["charities", "needs"])
    )
    return user


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


def test_the_charity_list_filters_by_needs_freshness(admin_client, settings):
    old = timezone.now() - dt.timedelta(days=settings.NEEDS_MAX_AGE_DAYS + 1)
    fresh = CharityFactory(name="Fresh Pantry")
    NeedFactory(charity=fresh)
    NeedFactory(charity=fresh, category="youth", last_updated=old)
    stale = CharityFactory(name="Stale Shelter")
    NeedFactory(charity=stale, last_updated=old)
    CharityFactory(name="Quiet Club")

    def names(value):
        response = admin_client.get("/admin/charities/charity/", {"needs": value})
        assert response.status_code == 200
        return {c.name for c in response.context["cl"].result_list}

    assert names("fresh") == {"Fresh Pantry"}
    assert names("stale") == {"Stale Shelter"}
    assert names("none") == {"Quiet Club"}
    assert names("nonsense") == {"Fresh Pantry", "Stale Shelter", "Quiet Club"}


def _need_form(need, changes, **values):
    data = {
        "charity": need.charity_id,
        "category": need.category,
        "urgency_score": need.urgency_score,
        "funding_gap": f"{need.funding_gap_cents // 100}.{need.funding_gap_cents % 100:02d}",
        "changes-TOTAL_FORMS": len(changes),
        "changes-INITIAL_FORMS": len(changes),
        "changes-MIN_NUM_FORMS": 0,
        "changes-MAX_NUM_FORMS": 1000,
    }
    for i, change in enumerate(changes):
        data[f"changes-{i}-id"] = change.pk
        data[f"changes-{i}-need"] = need.pk
    data.update(values)
    return data


def test_an_admin_edit_keeps_who_when_old_and_new(admin_client, staff):
    need = NeedFactory(urgency_score=30, funding_gap_cents=5000)
    response = admin_client.post(
        f"/admin/needs/need/{need.pk}/change/",
        _need_form(need, [], urgency_score=95, funding_gap="70.00"),
    )
    assert response.status_code == 302, response.content[:2000]
    change = NeedChange.objects.get(need=need)
    assert change.changed_by == staff
    assert change.source == "manual"
    assert (change.old_urgency_score, change.new_urgency_score) == (30, 95)
    assert (change.old_funding_gap_cents, change.new_funding_gap_cents) == (5000, 7000)
    assert change.changed_at is not None

    page = admin_client.get(f"/admin/needs/need/{need.pk}/change/").content.decode()
    assert "sam@example.org" in page  # the history is shown under the need
    listing = admin_client.get("/admin/needs/needchange/")
    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == [change]


def test_the_charity_page_shows_every_kind_of_need_with_a_link_to_its_history(admin_client):
    charity = CharityFactory()
    for source in ("manual", "api"):
        NeedFactory(charity=charity, source=source)
    response = admin_client.get(f"/admin/charities/charity/{charity.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    for need in charity.needs.all():
        assert f"/admin/needs/need/{need.pk}/change/" in page


def _change_form_data(response) -> dict:
    """The POST a browser would send for an admin change page, unchanged."""
    data = {}
    form = response.context["adminform"].form
    for name in form.fields:
        value = form.initial.get(name)
        if value is not None:
            data[name] = value
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for key, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{key}"] = value
        for sub in formset.initial_forms:
            for name in sub.fields:
                value = sub.initial.get(name) if name != "id" else sub.instance.pk
                if name == formset.fk.name:
                    value = formset.instance.pk
                if value is not None:
                    data[sub.add_prefix(name)] = value
    return data


def test_deleting_a_need_on_the_charity_page_keeps_what_it_received(admin_client):
    charity = CharityFactory()
    manual = NeedFactory(charity=charity, source="manual", category="food")
    record_money_received(week_start=dt.date(2026, 11, 16), amounts={manual.pk: 500},
                          at=timezone.now())  # fmt: skip
    url = f"/admin/charities/charity/{charity.pk}/change/"
    data = _change_form_data(admin_client.get(url))
    index = next(k for k, v in data.items() if k.endswith("-id") and v == manual.pk)
    data[index.replace("-id", "-DELETE")] = "on"
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    assert not charity.needs.exists()
    received = MoneyReceived.objects.get()
    assert (received.charity_id, received.need_id, received.amount_cents) == (
        charity.pk,
        None,
        500,
    )


# --- bad input in the need admin: a form error, nothing written -------------------------


def _snapshot():
    return sorted(
        Need.objects.values_list(
            "pk", "charity_id", "category", "source", "urgency_score", "funding_gap_cents"
        )
    ), NeedChange.objects.count()


def _add_form(charity, **values):
    data = {
        "charity": charity.pk,
        "category": "food",
        "urgency_score": 50,
        "funding_gap": "10.00",
        "changes-TOTAL_FORMS": 0,
        "changes-INITIAL_FORMS": 0,
        "changes-MIN_NUM_FORMS": 0,
        "changes-MAX_NUM_FORMS": 1000,
    }
    data.update(values)
    return data


def _inline_rows(data: dict) -> int:
    return int(data["needs-TOTAL_FORMS"])


def _add_inline_row(data: dict, **values) -> dict:
    i = _inline_rows(data)
    data["needs-TOTAL_FORMS"] = i + 1
    for name, value in values.items():
        data[f"needs-{i}-{name}"] = value
    return data


def test_a_gap_over_the_maximum_is_a_form_error_on_the_need_change_page(admin_client):
    need = NeedFactory(urgency_score=30, funding_gap_cents=5000)
    before = _snapshot()
    response = admin_client.post(
        f"/admin/needs/need/{need.pk}/change/",
        _need_form(need, [], funding_gap="100,000,000,000.01"),
    )
    assert response.status_code == 200
    assert "funding_gap" in response.context["adminform"].form.errors
    assert _snapshot() == before


def test_a_gap_over_the_maximum_is_a_form_error_on_the_need_add_page(admin_client):
    charity = CharityFactory()
    response = admin_client.post(
        "/admin/needs/need/add/", _add_form(charity, funding_gap="100,000,000,000.01")
    )
    assert response.status_code == 200
    assert "funding_gap" in response.context["adminform"].form.errors
    assert _snapshot() == ([], 0)


def test_a_gap_over_the_maximum_is_a_form_error_in_the_needs_inline(admin_client):
    charity = CharityFactory()
    need = NeedFactory(charity=charity, category="food", funding_gap_cents=5000)
    url = f"/admin/charities/charity/{charity.pk}/change/"
    before = _snapshot()
    for row in ("existing", "new"):
        data = _change_form_data(admin_client.get(url))
        if row == "existing":
            index = next(k for k, v in data.items() if k.endswith("-id") and v == need.pk)
            data[index.replace("-id", "-funding_gap")] = "100,000,000,000.01"
        else:
            _add_inline_row(
                data, category="youth", urgency_score=10, funding_gap="100000000000.01"
            )
        response = admin_client.post(url, data)
        assert response.status_code == 200, row
        formset = response.context["inline_admin_formsets"][0].formset
        assert any("funding_gap" in errors for errors in formset.errors), row
        assert _snapshot() == before, row


def test_adding_a_need_that_exists_is_refused_with_a_link_to_it(admin_client):
    existing = NeedFactory(category="food", urgency_score=30, funding_gap_cents=5000)
    before = _snapshot()
    response = admin_client.post(
        "/admin/needs/need/add/",
        _add_form(existing.charity, category="food", urgency_score=99, funding_gap="0.07"),
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "category" in errors
    assert f'<a href="/admin/needs/need/{existing.pk}/change/">' in response.content.decode()
    assert _snapshot() == before


def test_adding_an_existing_category_in_the_needs_inline_is_refused(admin_client):
    charity = CharityFactory()
    NeedFactory(charity=charity, category="food", urgency_score=30, funding_gap_cents=5000)
    url = f"/admin/charities/charity/{charity.pk}/change/"
    before = _snapshot()
    data = _add_inline_row(
        _change_form_data(admin_client.get(url)),
        category="food",
        urgency_score=99,
        funding_gap="0.07",
    )
    response = admin_client.post(url, data)
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert any("category" in errors for errors in formset.errors)
    assert _snapshot() == before

    # Two new rows of one category in one save: refused too.
    data = _change_form_data(admin_client.get(url))
    for _ in range(2):
        _add_inline_row(data, category="youth", urgency_score=10, funding_gap="1.00")
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert _snapshot() == before


def test_a_needs_charity_and_category_are_shown_read_only_and_never_changed(admin_client):
    need = NeedFactory(category="food", urgency_score=30, funding_gap_cents=5000)
    other = CharityFactory(name="Other Pantry")
    url = f"/admin/needs/need/{need.pk}/change/"
    page = admin_client.get(url)
    form = page.context["adminform"].form
    assert "charity" not in form.fields and "category" not in form.fields
    assert "cannot change" in page.content.decode()

    response = admin_client.post(
        url, _need_form(need, [], charity=other.pk, category="youth", urgency_score=31)
    )
    assert response.status_code == 302
    need.refresh_from_db()
    assert (need.charity_id, need.category, need.urgency_score) != (other.pk, "youth", 31)
    assert need.urgency_score == 31  # what the page could change, changed

    # On the charity page, an existing need's category is shown but not editable.
    charity_page = admin_client.get(f"/admin/charities/charity/{need.charity_id}/change/")
    formset = charity_page.context["inline_admin_formsets"][0].formset
    existing = next(f for f in formset.forms if f.instance.pk == need.pk)
    assert existing.fields["category"].disabled


# --- dollars, the need that counts, plain sentences ---------------------------------------


def test_staff_type_the_gap_in_dollars_and_never_see_cents(admin_client):
    charity = CharityFactory()
    response = admin_client.post(
        "/admin/needs/need/add/", _add_form(charity, funding_gap="12,500", urgency_score=70)
    )
    assert response.status_code == 302
    need = Need.objects.get()
    assert need.funding_gap_cents == 1_250_000
    page = admin_client.get(f"/admin/needs/need/{need.pk}/change/").content.decode()
    assert 'value="12500.00"' in page and "Funding gap cents" not in page
    assert "this is the need the weekly run uses" in page


def test_the_need_page_says_which_need_of_its_category_counts(admin_client):
    charity = CharityFactory()
    older = timezone.now() - dt.timedelta(days=3)
    manual = NeedFactory(charity=charity, category="food", last_updated=older)
    NeedFactory(charity=charity, category="food", source="api", funding_gap_cents=9900)
    page = admin_client.get(f"/admin/needs/need/{manual.pk}/change/").content.decode()
    assert "No: the run uses the newer" in page and "$99.00" in page
    charity_page = admin_client.get(f"/admin/charities/charity/{charity.pk}/change/")
    assert "counts now?" in charity_page.content.decode().lower()


def test_a_constraint_is_told_in_a_plain_sentence(admin_client):
    charity = CharityFactory()
    response = admin_client.post("/admin/needs/need/add/", _add_form(charity, urgency_score=150))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Constraint" not in page and "need_urgency_0_100" not in page
    assert _snapshot() == ([], 0)


def test_saving_the_charity_page_unchanged_does_not_confirm_its_needs(admin_client):
    charity = CharityFactory()
    older = timezone.now() - dt.timedelta(days=3)
    need = NeedFactory(charity=charity, funding_gap_cents=1_250_050, last_updated=older)
    url = f"/admin/charities/charity/{charity.pk}/change/"
    response = admin_client.post(url, _change_form_data(admin_client.get(url)))
    assert response.status_code == 302
    need.refresh_from_db()
    assert need.last_updated == older and need.funding_gap_cents == 1_250_050
