"""Vetting in the Django admin: who may approve and reject, and that the money ledger is
read-only there."""

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from charities.models import Charity
from tests.factories import (
    CharityFactory,
    ContributionFactory,
    DistributionFactory,
    NeedFactory,
    ReportFactory,
)

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:charities_charity_changelist")


def _pending(n=2):
    return [CharityFactory(verification_status="pending", approved_at=None) for _ in range(n)]


def _act(client, action, charities, **extra):
    data = {"action": action, ACTION_CHECKBOX_NAME: [c.pk for c in charities], **extra}
    return client.post(CHANGELIST, data)


def test_every_model_is_registered_in_the_admin():
    from django.apps import apps

    ours = ["accounts", "subscriptions", "charities", "needs", "distributions", "reports"]
    for model in apps.get_models():
        if model._meta.app_label in ours:
            assert admin.site.is_registered(model), model


def test_carol_approves_through_the_service(client, carol):
    charities = _pending()
    for charity in charities:  # with a current need, so no "Approve anyway?" step
        NeedFactory(charity=charity)
    client.force_login(carol)
    response = _act(client, "approve_selected", charities)
    assert response.status_code == 302
    for charity in Charity.objects.all():
        assert charity.verification_status == "approved"
        assert charity.approved_by == carol and charity.approved_at is not None


def test_carol_rejects_with_a_note_after_a_confirmation_page(client, carol):
    charities = _pending()
    client.force_login(carol)
    confirm = _act(client, "reject_selected", charities)
    assert confirm.status_code == 200
    assert b"Say why" in confirm.content
    assert not Charity.objects.filter(verification_status="rejected").exists()

    no_note = _act(client, "reject_selected", charities, apply="Reject", note="")
    assert no_note.status_code == 200
    assert not Charity.objects.filter(verification_status="rejected").exists()

    done = _act(client, "reject_selected", charities, apply="Reject", note="Not local.")
    assert done.status_code == 302
    for charity in Charity.objects.all():
        assert charity.verification_status == "rejected"
        assert "Not local." in charity.admin_notes


def test_staff_without_the_permission_has_no_vetting_actions(client, dave):
    charities = _pending()
    client.force_login(dave)
    page = client.get(CHANGELIST)
    assert page.status_code == 200
    assert b"approve_selected" not in page.content
    _act(client, "approve_selected", charities)
    assert not Charity.objects.filter(verification_status="approved").exists()


@pytest.mark.parametrize("who", ["anonymous", "alice"])
def test_a_donor_or_an_anonymous_visitor_cannot_approve(client, alice, who):
    charities = _pending()
    if who == "alice":
        client.force_login(alice)
    response = _act(client, "approve_selected", charities)
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
    assert not Charity.objects.filter(verification_status="approved").exists()


def test_the_charity_list_shows_status_place_category_and_coordinates(client, carol):
    CharityFactory(name="Placed Shelf")
    CharityFactory(name="Unplaced Shelf", latitude=None, longitude=None, coordinates_source=None)
    client.force_login(carol)
    page = client.get(CHANGELIST, {"has_coordinates": "no"})
    assert b"Unplaced Shelf" in page.content and b"Placed Shelf</a>" not in page.content
    for term in [b"Springfield", b"Human services", b"Approved"]:
        assert term in page.content
    found = client.get(CHANGELIST, {"q": "Unplaced"})
    assert b"Unplaced Shelf" in found.content


def test_the_change_page_has_the_map_widget_and_the_needs_inline(client, carol):
    charity = CharityFactory()
    NeedFactory(charity=charity)
    client.force_login(carol)
    page = client.get(reverse("admin:charities_charity_change", args=[charity.pk]))
    assert page.status_code == 200
    assert b"leaflet/leaflet.js" in page.content
    assert b"charities/map-picker.js" in page.content
    assert b"needs-TOTAL_FORMS" in page.content


def test_moving_the_marker_marks_coordinates_as_set_by_hand(client, carol):
    charity = CharityFactory(coordinates_source="zip")
    client.force_login(carol)
    url = reverse("admin:charities_charity_change", args=[charity.pk])
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(
        latitude="43.3001",
        longitude="-72.4801",
        state="VT",
        category="human_services",
        **{
            "needs-TOTAL_FORMS": 0,
            "needs-INITIAL_FORMS": 0,
            "members-TOTAL_FORMS": 0,
            "members-INITIAL_FORMS": 0,
        },
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    charity.refresh_from_db()
    assert (charity.latitude, charity.coordinates_source) == (43.3001, "manual")


@pytest.mark.parametrize(
    ("factory", "name"),
    [
        (DistributionFactory, "distribution"),
        (ContributionFactory, "contribution"),
        (ReportFactory, "report"),
    ],
)
def test_money_records_are_read_only_even_for_a_superuser(client, factory, name):
    from tests.factories import UserFactory

    boss = UserFactory(email="boss@example.org", is_staff=True, is_superuser=True)
    row = factory()
    client.force_login(boss)
    app = row._meta.app_label
    change = client.get(reverse(f"admin:{app}_{name}_change", args=[row.pk]))
    assert change.status_code == 200
    assert b'name="_save"' not in change.content
    assert client.get(reverse(f"admin:{app}_{name}_add")).status_code == 403
    assert (
        client.post(
            reverse(f"admin:{app}_{name}_delete", args=[row.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert type(row).objects.filter(pk=row.pk).exists()


def test_distribution_runs_are_read_only_too(client):
    from distributions.models import DistributionRun
    from tests.factories import UserFactory

    boss = UserFactory(email="boss@example.org", is_staff=True, is_superuser=True)
    client.force_login(boss)
    assert client.get(reverse("admin:distributions_distributionrun_add")).status_code == 403
    assert (
        admin.site._registry[DistributionRun].has_change_permission(
            type("R", (), {"user": boss})()
        )
        is False
    )
