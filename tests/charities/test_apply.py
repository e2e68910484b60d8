"""/charities/apply/: a signed-in user applies to list a charity; staff decide in the
admin and the applicant hears of it by email.

alice applies (she becomes the owner of what she applies for); bob is another user;
carol is staff with the vetting permission."""

import pytest
from django.core import mail
from django.urls import reverse

from charities import services
from charities.models import Charity, CharityMember, IrsImport
from tests.factories import CharityFactory, CharityMemberFactory

pytestmark = pytest.mark.django_db

URL = "/charities/apply/"


def _details(**overrides):
    data = {
        "ein": "12-3456789",
        "name": "Springfield Food Shelf",
        "city": "Springfield",
        "state": "VT",
        "zip_code": "05156",
        "category": "food",
        "mission": "We feed families in the valley, every week.",
        "website": "https://foodshelf.example.org",
        "contact_email": "hello@foodshelf.example.org",
    }
    return data | overrides


def _imported(**fields):
    """A row as import_charities leaves it: pending, unclaimed, listed by an import."""
    listed = IrsImport.objects.create(
        source_name="eo_vt.csv", states=["VT"], rows=1, imported_at="2026-11-01T00:00Z"
    )
    return CharityFactory(
        **{
            "ein": "123456789",
            "name": "Springfield Food Shelf Inc",
            "category": "food",
            "verification_status": "pending",
            "approved_at": None,
            "irs_last_import": listed,
            "irs_status": "01",
            "irs_deductibility": "1",
        }
        | fields
    )


def test_the_url_is_the_contracts_and_asks_anonymous_visitors_to_sign_in(client):
    assert reverse("charities:apply") == URL
    response = client.get(URL)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    assert client.post(URL, _details()).status_code == 302
    assert not Charity.objects.exists()


def test_an_ein_not_in_the_irs_file_makes_a_flagged_pending_charity_owned_by_the_applicant(
    client, alice
):
    client.force_login(alice)
    step_two = client.get(URL, {"ein": "12-3456789"})
    assert step_two.status_code == 200
    assert "not in the IRS file" in step_two.content.decode()
    assert step_two.context["form"].initial["contact_email"] == alice.email

    response = client.post(URL, _details())
    assert response.status_code == 302
    charity = Charity.objects.get()
    assert (charity.ein, charity.name, charity.category) == (
        "123456789",
        "Springfield Food Shelf",
        "food",
    )
    assert charity.verification_status == "pending"
    assert charity.mission.startswith("We feed families")
    assert charity.website == "https://foodshelf.example.org"
    assert charity.applied_by == alice and charity.applied_at is not None
    assert charity.application_flags == services.NOT_IN_IRS_FILE
    member = CharityMember.objects.get()
    assert (member.user, member.charity, member.role) == (alice, charity, "owner")
    # The portal lists it, as pending.
    portal = client.get(response["Location"])
    assert "Springfield Food Shelf" in portal.content.decode()
    assert "pending review" in portal.content.decode()
    assert not mail.outbox


def test_an_imported_unclaimed_charity_is_pre_filled_claimed_and_mismatches_flagged(client, alice):
    row = _imported()
    client.force_login(alice)
    step_two = client.get(URL, {"ein": "123456789"})
    initial = step_two.context["form"].initial
    assert (initial["name"], initial["city"], initial["state"], initial["category"]) == (
        "Springfield Food Shelf Inc", "Springfield", "VT", "food",
    )  # fmt: skip
    assert step_two.context["irs"] == row

    response = client.post(
        URL, _details(name="Valley Food Shelf", city="Chester", category="human_services")
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert Charity.objects.count() == 1
    # The IRS file's facts are kept; what the applicant wrote differently is for staff.
    assert (row.name, row.city, row.category) == (
        "Springfield Food Shelf Inc",
        "Springfield",
        "food",
    )
    assert row.applied_by == alice and row.mission.startswith("We feed")
    assert row.contact_email == "hello@foodshelf.example.org"
    flags = row.application_flags
    assert "Name: applicant wrote 'Valley Food Shelf'" in flags
    assert "Place: applicant wrote Chester, VT" in flags
    assert "Category: applicant chose Human services" in flags
    assert services.NOT_IN_IRS_FILE not in flags
    assert CharityMember.objects.get(charity=row).user == alice


def test_matching_details_raise_no_flag():
    row = _imported(name="Springfield Food Shelf")
    charity = services.apply_for_charity(
        user=CharityMemberFactory().user, **_details(name="springfield  food-shelf")
    )
    assert charity.pk == row.pk
    assert charity.application_flags == ""


def test_an_approved_charity_is_refused_with_a_clear_message(client, alice):
    CharityFactory(ein="123456789", name="Springfield Food Shelf")
    client.force_login(alice)
    step_one = client.get(URL, {"ein": "123456789"})
    assert "already on Hometown Fund" in step_one.content.decode()
    assert "form" not in step_one.context or step_one.context.get("step") == 1
    response = client.post(URL, _details())
    assert response.status_code == 200
    assert "Ask its owner to add you" in response.content.decode()
    assert not CharityMember.objects.exists()


@pytest.mark.parametrize(
    "state, expected",
    [("rejected", "was turned down"), ("pending", "has applied already")],
)
def test_an_ein_applied_for_or_rejected_is_refused(client, alice, bob, state, expected):
    row = _imported(verification_status=state, applied_by=bob)
    client.force_login(alice)
    response = client.post(URL, _details())
    assert response.status_code == 200
    assert expected in response.content.decode()
    row.refresh_from_db()
    assert row.applied_by == bob and row.mission == ""
    assert not CharityMember.objects.exists()


def test_applying_twice_says_so(alice):
    services.apply_for_charity(user=alice, **_details())
    with pytest.raises(services.ValidationError, match="You have applied for"):
        services.apply_for_charity(user=alice, **_details())


def test_a_pending_charity_someone_works_for_is_not_claimed(alice):
    member = CharityMemberFactory(charity=_imported())
    with pytest.raises(services.ValidationError, match="has applied already"):
        services.apply_for_charity(user=alice, **_details())
    assert CharityMember.objects.get(charity=member.charity).user == member.user


@pytest.mark.parametrize(
    "field, value",
    [
        ("ein", "12-345"),
        ("ein", "ab-cdefghi"),
        ("state", "XX"),
        ("category", "bingo"),
        ("website", "not a url"),
        ("contact_email", "nobody"),
        ("mission", ""),
        ("mission", "x" * 2001),
        ("name", ""),
        ("zip_code", "123"),
    ],
)
def test_bad_input_is_a_form_error_and_writes_nothing(client, alice, field, value):
    client.force_login(alice)
    response = client.post(URL, _details(**{field: value}))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Charity.objects.exists() and not CharityMember.objects.exists()


def test_a_bad_ein_on_step_one_stays_on_step_one(client, alice):
    client.force_login(alice)
    response = client.get(URL, {"ein": "123"})
    assert response.context["step"] == 1
    assert "9 digits" in response.content.decode()


def test_approval_emails_the_applicant_a_welcome_with_the_portal_link(
    alice, carol, django_capture_on_commit_callbacks
):
    charity = services.apply_for_charity(user=alice, **_details())
    with django_capture_on_commit_callbacks(execute=True):
        services.approve_charity(charity, by=carol)
    (message,) = mail.outbox
    assert message.to == [alice.email]
    assert "Springfield Food Shelf is now on Hometown Fund" in message.subject
    assert f"/portal/{charity.pk}/" in message.body


def test_rejection_emails_the_applicant_the_staff_note(
    alice, carol, django_capture_on_commit_callbacks
):
    charity = services.apply_for_charity(user=alice, **_details())
    with django_capture_on_commit_callbacks(execute=True):
        services.reject_charity(charity, by=carol, note="We could not confirm the EIN.")
    (message,) = mail.outbox
    assert message.to == [alice.email]
    assert "was not approved" in message.subject
    assert "We could not confirm the EIN." in message.body


def test_the_admin_actions_email_applicants_and_nobody_else(
    client, alice, carol, django_capture_on_commit_callbacks
):
    applied = services.apply_for_charity(user=alice, **_details())
    imported = _imported(ein="987654321")
    client.force_login(carol)
    changelist = reverse("admin:charities_charity_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            changelist,
            {
                "action": "approve_selected",
                "_selected_action": [applied.pk, imported.pk],
                "approve_anyway": "1",  # neither has a need yet: past the warning step
            },
        )
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [[alice.email]]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            changelist,
            {
                "action": "reject_selected",
                "apply": "1",
                "note": "Not a local charity.",
                "_selected_action": [applied.pk, imported.pk],
            },
        )
    assert [m.to for m in mail.outbox] == [[alice.email]]
    assert "Not a local charity." in mail.outbox[0].body


def test_an_import_approving_charities_emails_no_one(django_capture_on_commit_callbacks):
    imported = _imported()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.approve_charities([imported.pk], by=None) == 1
    assert not mail.outbox


def test_the_admin_shows_applications_and_filters_them(client, alice, carol):
    applied = services.apply_for_charity(user=alice, **_details())
    _imported(ein="987654321", name="Imported Only")
    client.force_login(carol)
    changelist = reverse("admin:charities_charity_changelist")
    listing = client.get(changelist, {"applications": "pending"}).content.decode()
    assert "Springfield Food Shelf" in listing and "Imported Only" not in listing
    page = client.get(reverse("admin:charities_charity_change", args=[applied.pk]))
    assert services.NOT_IN_IRS_FILE in page.content.decode()
    assert alice.email in page.content.decode()
