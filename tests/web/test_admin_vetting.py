"""Vetting from a charity's own admin page: Approve and Reject buttons that call the same
services as the list's actions, shown only where the transition is valid and to staff
who may change and vet charities; a warning step before approving a charity with no
current need, for the button and the list action alike."""

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from charities import services
from charities.models import Charity
from tests.factories import CharityFactory, NeedFactory, UserFactory

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:charities_charity_changelist")


def change_url(charity):
    return reverse("admin:charities_charity_change", args=[charity.pk])


def approve_url(charity):
    return reverse("admin:charities_charity_approve", args=[charity.pk])


def reject_url(charity):
    return reverse("admin:charities_charity_reject", args=[charity.pk])


def pending(**kw):
    return CharityFactory(verification_status="pending", approved_at=None, **kw)


def with_need(charity, **kw):
    NeedFactory(charity=charity, **kw)
    return charity


def status(charity) -> str:
    return Charity.objects.get(pk=charity.pk).verification_status


def warning_for(charity) -> str:
    return f"{charity.name} has no current need; it will receive nothing until a need is added."


@pytest.fixture
def spy(monkeypatch):
    """Records the vetting services' calls, and lets them run."""
    calls = []
    approve, reject = services.approve_charity, services.reject_charity

    def approving(charity, *, by, note=""):
        calls.append(("approve", charity.pk, by.email))
        return approve(charity, by=by, note=note)

    def rejecting(charity, *, by, note):
        calls.append(("reject", charity.pk, by.email, note))
        return reject(charity, by=by, note=note)

    monkeypatch.setattr(services, "approve_charity", approving)
    monkeypatch.setattr(services, "reject_charity", rejecting)
    return calls


# --- the buttons, and who sees them --------------------------------------------------


@pytest.mark.parametrize(
    ("state", "approve", "reject"),
    [("pending", True, True), ("approved", False, True), ("rejected", True, False)],
)
def test_the_change_page_offers_the_transitions_valid_for_the_charity(
    client, carol, state, approve, reject
):
    charity = CharityFactory(verification_status=state)
    client.force_login(carol)
    page = client.get(change_url(charity)).content.decode()
    assert 'id="vetting"' in page
    assert (f'action="{approve_url(charity)}"' in page) is approve
    assert (f'href="{reject_url(charity)}"' in page) is reject


def test_staff_who_may_not_vet_see_no_buttons_and_are_refused(client, dave, spy):
    charity = with_need(pending())
    client.force_login(dave)
    page = client.get(change_url(charity))
    assert page.status_code == 200  # dave may change charities
    assert b'id="vetting"' not in page.content
    assert approve_url(charity).encode() not in page.content
    assert client.post(approve_url(charity), {"approve_anyway": "1"}).status_code == 403
    assert client.get(reject_url(charity)).status_code == 403
    assert client.post(reject_url(charity), {"note": "No."}).status_code == 403
    assert status(charity) == "pending" and spy == []


def test_a_vetter_without_the_change_permission_sees_no_buttons_and_is_refused(client, spy):
    viewer = UserFactory(is_staff=True, city="", state="", zip_code="")
    viewer.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="charities", codename__in=["vet_charity", "view_charity"]
        )
    )
    charity = with_need(pending())
    client.force_login(viewer)
    assert b'id="vetting"' not in client.get(change_url(charity)).content
    assert client.post(approve_url(charity)).status_code == 403
    assert status(charity) == "pending" and spy == []


def test_a_donor_or_anonymous_visitor_is_sent_to_log_in(client, alice, spy):
    charity = with_need(pending())
    for user in (None, alice):
        if user:
            client.force_login(user)
        response = client.post(approve_url(charity), {"approve_anyway": "1"})
        assert response.status_code == 302 and "login" in response["Location"]
    assert status(charity) == "pending" and spy == []


def test_a_post_without_the_csrf_token_is_refused(carol, spy):
    charity = with_need(pending())
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(carol)
    assert csrf_client.post(approve_url(charity)).status_code == 403
    assert status(charity) == "pending" and spy == []


# --- approve -------------------------------------------------------------------------


def test_approve_calls_the_service_and_comes_back_with_a_message(client, carol, spy):
    charity = with_need(pending())
    client.force_login(carol)
    response = client.post(approve_url(charity), follow=True)
    assert response.redirect_chain == [(change_url(charity), 302)]
    assert spy == [("approve", charity.pk, carol.email)]
    charity.refresh_from_db()
    assert charity.verification_status == "approved"
    assert charity.approved_by == carol and charity.approved_at is not None
    assert f"Approved {charity.name}." in response.content.decode()
    assert LogEntry.objects.filter(object_id=str(charity.pk), user=carol).exists()


def test_a_get_on_the_approve_url_changes_nothing(client, carol, spy):
    charity = with_need(pending())
    client.force_login(carol)
    response = client.get(approve_url(charity))
    assert response.status_code == 302 and response["Location"] == change_url(charity)
    assert status(charity) == "pending" and spy == []


@pytest.mark.parametrize(
    "needs",
    [
        [],
        # stale: older than NEEDS_MAX_AGE_DAYS
        [{"last_updated_days": settings.NEEDS_MAX_AGE_DAYS + 1}],
        # closed: urgency and gap 0
        [{"urgency_score": 0, "funding_gap_cents": 0}],
    ],
    ids=["no need", "a stale need", "a closed need"],
)
def test_approving_a_charity_with_no_current_need_asks_first(client, carol, spy, needs):
    charity = pending()
    for need in needs:
        days = need.pop("last_updated_days", 0)
        NeedFactory(charity=charity, last_updated=timezone.now() - dt.timedelta(days=days), **need)
    client.force_login(carol)

    confirm = client.post(approve_url(charity))
    assert confirm.status_code == 200
    page = confirm.content.decode()
    assert warning_for(charity) in page
    assert "Approve anyway" in page and f'href="{change_url(charity)}"' in page  # Cancel
    assert status(charity) == "pending" and spy == []

    done = client.post(approve_url(charity), {"approve_anyway": "1"})
    assert done.status_code == 302
    assert status(charity) == "approved"
    assert spy == [("approve", charity.pk, carol.email)]


def test_approving_an_approved_charity_changes_nothing_and_says_so(client, carol, spy):
    charity = with_need(CharityFactory())
    client.force_login(carol)
    response = client.post(approve_url(charity), {"approve_anyway": "1"}, follow=True)
    assert f"Nothing changed: {charity.name} is already approved." in response.content.decode()
    assert spy == []


@pytest.mark.parametrize("object_id", ["999999", "abc", "0"])
def test_an_unknown_charity_is_a_message_not_an_error(client, carol, spy, object_id):
    client.force_login(carol)
    for url in (f"{CHANGELIST}{object_id}/approve/", f"{CHANGELIST}{object_id}/reject/"):
        response = client.post(url, {"approve_anyway": "1", "note": "x"}, follow=True)
        assert response.status_code == 200
        assert "there is no such charity" in response.content.decode()
    assert spy == []


# --- reject --------------------------------------------------------------------------


def test_reject_asks_for_a_reason_then_calls_the_service(client, carol, spy):
    charity = pending()
    client.force_login(carol)
    form = client.get(reject_url(charity))
    assert form.status_code == 200 and b'name="note"' in form.content

    no_reason = client.post(reject_url(charity), {"note": "  "})
    assert no_reason.status_code == 200 and b"errorlist" in no_reason.content
    assert status(charity) == "pending" and spy == []

    done = client.post(reject_url(charity), {"note": "Not a local charity."}, follow=True)
    assert done.redirect_chain == [(change_url(charity), 302)]
    assert spy == [("reject", charity.pk, carol.email, "Not a local charity.")]
    charity.refresh_from_db()
    assert charity.verification_status == "rejected"
    assert "Not a local charity." in charity.admin_notes
    assert f"Rejected {charity.name}." in done.content.decode()


def test_rejecting_a_rejected_charity_changes_nothing(client, carol, spy):
    charity = CharityFactory(verification_status="rejected", approved_at=None)
    client.force_login(carol)
    response = client.post(reject_url(charity), {"note": "Again."}, follow=True)
    assert "is already rejected" in response.content.decode()
    assert spy == []


def test_a_too_long_reason_is_a_form_error(client, carol, spy):
    charity = pending()
    client.force_login(carol)
    response = client.post(reject_url(charity), {"note": "x" * 1001})
    assert response.status_code == 200 and b"errorlist" in response.content
    assert status(charity) == "pending" and spy == []


# --- the list action warns the same way ----------------------------------------------


def _act(client, charities, **extra):
    data = {"action": "approve_selected", ACTION_CHECKBOX_NAME: [c.pk for c in charities]}
    return client.post(CHANGELIST, {**data, **extra})


def test_the_list_action_warns_about_the_charities_without_a_current_need(client, carol, spy):
    ready, bare = with_need(pending(name="Ready Food Shelf")), pending(name="Bare Shelter")
    client.force_login(carol)

    confirm = _act(client, [ready, bare])
    assert confirm.status_code == 200
    page = confirm.content.decode()
    assert warning_for(bare) in page
    assert warning_for(ready) not in page
    assert status(ready) == status(bare) == "pending" and spy == []

    done = _act(client, [ready, bare], approve_anyway="1")
    assert done.status_code == 302
    assert status(ready) == status(bare) == "approved"
    assert sorted(call[1] for call in spy) == sorted([ready.pk, bare.pk])


def test_the_list_action_approves_at_once_when_every_charity_has_a_need(client, carol, spy):
    charities = [with_need(pending()), with_need(pending())]
    client.force_login(carol)
    response = _act(client, charities)
    assert response.status_code == 302
    assert all(status(c) == "approved" for c in charities)
    assert len(spy) == 2


def test_the_warning_page_resends_only_what_would_change(client, carol):
    """An approved charity in the selection is not re-approved, nor warned about."""
    already = CharityFactory(name="Already Approved")
    bare = pending(name="Bare Shelter")
    client.force_login(carol)
    page = _act(client, [already, bare]).content.decode()
    assert warning_for(bare) in page and "Already Approved" not in page
    resent = f'name="{ACTION_CHECKBOX_NAME}" value="'
    assert f'{resent}{bare.pk}"' in page and f'{resent}{already.pk}"' not in page


def test_the_list_shows_each_charitys_current_needs(client, carol):
    with_need(pending(name="Counted Food Shelf"))
    pending(name="Needless Shelter")
    client.force_login(carol)
    page = client.get(CHANGELIST).content.decode()
    assert "<th" in page and ">Needs<" in page
    row = page.split("Needless Shelter", 1)[1].split("</tr>", 1)[0]
    assert 'class="field-current_needs">none<' in row
    row = page.split("Counted Food Shelf", 1)[1].split("</tr>", 1)[0]
    assert 'class="field-current_needs">1<' in row
