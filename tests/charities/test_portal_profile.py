"""The portal's profile page (charities.portal_views.profile, services.update_profile)
and logos (charities.images): members edit what donors read; name, EIN, city and state
wait for staff; bad input writes nothing; a logo is checked by content and re-encoded."""

import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from charities.models import Charity
from charities.services import update_profile
from tests.factories import CharityFactory, CharityMemberFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def editor(db):
    return CharityMemberFactory(
        role="editor",
        charity=CharityFactory(name="Oak Food Shelf", city="Springfield", state="VT", ein=""),
    )


def image_file(fmt="PNG", size=(200, 100), name=None, **save):
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=fmt, **save)
    name = name or f"logo.{fmt.lower()}"
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def form_data(charity, **changes):
    data = {
        "mission": charity.mission, "gift_line": charity.gift_line,
        "website": charity.website, "contact_email": charity.contact_email,
        "name": charity.name, "ein": charity.ein, "city": charity.city, "state": charity.state,
    }  # fmt: skip
    data.update(changes)
    return data


def post(client, member, **changes):
    client.force_login(member.user)
    url = reverse("portal:profile", args=[member.charity_id])
    return client.post(url, form_data(member.charity, **changes))


def test_a_member_edits_what_donors_read(client, editor):
    response = post(client, editor, mission="We feed Springfield.\nEvery week.",
                    gift_line="$25 feeds a family for a week.",
                    website="https://oak.example.org",
                    contact_email="hi@oak.example.org")  # fmt: skip
    assert response.status_code == 302
    charity = Charity.objects.get(pk=editor.charity_id)
    assert charity.mission == "We feed Springfield.\nEvery week."
    assert charity.gift_line == "$25 feeds a family for a week."
    assert charity.website == "https://oak.example.org"
    assert charity.contact_email == "hi@oak.example.org"
    page = client.get(reverse("charities:detail", args=[charity.pk])).content.decode()
    assert "$25 feeds a family for a week." in page and "We feed Springfield." in page


@pytest.mark.parametrize(
    "changes",
    [
        {"mission": "x" * 2001},
        {"gift_line": "y" * 161},
        {"website": "javascript:alert(1)"},
        {"contact_email": "not an email"},
        {"state": "ZZ"},
        {"name": ""},
    ],
)
def test_bad_input_is_a_form_error_and_writes_nothing(client, editor, changes):
    before = Charity.objects.values().get(pk=editor.charity_id)
    response = post(client, editor, **{"gift_line": "Would be saved", **changes})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert Charity.objects.values().get(pk=editor.charity_id) == before


def test_the_service_checks_too_and_writes_nothing(editor):
    before = Charity.objects.values().get(pk=editor.charity_id)
    for bad in ({"website": "ftp://oak.example.org"}, {"gift_line": "two\nlines"},
                {"mission": "\x00"}, {"logo": SimpleUploadedFile("a.png", b"nope")}):  # fmt: skip
        with pytest.raises(ValidationError):
            update_profile(editor.charity, by=editor.user, **{"mission": "Saved?", **bad})
    with pytest.raises(PermissionDenied):
        update_profile(editor.charity, by=UserFactory(), mission="Saved?")
    assert Charity.objects.values().get(pk=editor.charity_id) == before


def test_name_ein_city_and_state_wait_for_staff(client, editor):
    response = post(client, editor, name="Oak Community Pantry", ein="12-3456789",
                    city="Burlington", gift_line="New line")  # fmt: skip
    assert response.status_code == 302
    charity = Charity.objects.get(pk=editor.charity_id)
    assert (charity.name, charity.ein, charity.city) == ("Oak Food Shelf", "", "Springfield")
    assert charity.gift_line == "New line"  # the rest is saved
    assert 'name "Oak Food Shelf" -> "Oak Community Pantry"' in charity.application_flags
    assert 'ein "" -> "123456789"' in charity.application_flags
    assert editor.user.email in charity.application_flags
    assert charity.verification_status == editor.charity.verification_status  # still giving
    page = client.get(reverse("portal:profile", args=[charity.pk])).content.decode()
    assert "Waiting for our staff" in page and "Oak Community Pantry" in page


def test_an_ein_of_another_charity_is_refused(client, editor):
    CharityFactory(ein="987654321")
    response = post(client, editor, ein="98-7654321")
    assert response.context["form"].errors["ein"]
    assert Charity.objects.get(pk=editor.charity_id).application_flags == ""


def test_strangers_and_staff_of_other_charities_get_404(client, editor):
    client.force_login(UserFactory())
    url = reverse("portal:profile", args=[editor.charity_id])
    assert client.post(url, form_data(editor.charity, gift_line="Hacked")).status_code == 404
    assert Charity.objects.get(pk=editor.charity_id).gift_line == ""


# --- logos ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt,save", [("PNG", {}), ("JPEG", {"quality": 90}), ("WEBP", {})])
def test_a_logo_is_stored_re_encoded_as_a_fitted_png(client, editor, media, fmt, save):
    upload = image_file(fmt, size=(1600, 800), **save)
    response = post(client, editor, logo=upload)
    assert response.status_code == 302
    charity = Charity.objects.get(pk=editor.charity_id)
    assert charity.logo.name.startswith("logos/") and charity.logo.name.endswith(".png")
    with Image.open(media / charity.logo.name) as stored:
        assert stored.format == "PNG" and stored.size == (512, 256)
        assert "exif" not in stored.info
    page = client.get(reverse("charities:detail", args=[charity.pk])).content.decode()
    assert charity.logo.url in page


def test_metadata_does_not_survive(client, editor, media):
    exif = Image.Exif()
    exif[0x010F] = "SecretCam GPS"  # Make
    upload = image_file("JPEG", size=(300, 300), exif=exif.tobytes())
    assert b"SecretCam" in upload.read()
    upload.seek(0)
    post(client, editor, logo=upload)
    stored = (media / Charity.objects.get(pk=editor.charity_id).logo.name).read_bytes()
    assert b"SecretCam" not in stored


@pytest.mark.parametrize(
    "upload,message",
    [
        (lambda: image_file("GIF", name="logo.png"), "PNG, JPEG or WebP"),
        (lambda: SimpleUploadedFile("logo.png", b"not an image at all" * 10), "PNG, JPEG or WebP"),
        (lambda: image_file("PNG", size=(40, 200)), "between 64 and 4096"),
        (lambda: image_file("PNG", size=(5000, 100)), "between 64 and 4096"),
        (
            lambda: SimpleUploadedFile("big.png", b"\x89PNG" + b"0" * (2 * 1024 * 1024 + 1)),
            "at most 2 MB",
        ),
    ],
    ids=["gif", "text-named-png", "too-small", "too-large-sides", "too-big-file"],
)
def test_a_bad_logo_is_refused_and_nothing_is_written(client, editor, media, upload, message):
    response = post(client, editor, logo=upload(), gift_line="Not saved either")
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["logo"])
    charity = Charity.objects.get(pk=editor.charity_id)
    assert not charity.logo and charity.gift_line == ""
    assert not list(media.rglob("*.png"))


def test_a_new_logo_replaces_the_old_file_and_clear_removes_it(
    client, editor, media, django_capture_on_commit_callbacks
):
    post(client, editor, logo=image_file())
    first = Charity.objects.get(pk=editor.charity_id).logo.name
    with django_capture_on_commit_callbacks(execute=True):
        post(client, editor, logo=image_file("JPEG"))
    second = Charity.objects.get(pk=editor.charity_id).logo.name
    assert second != first and (media / second).exists() and not (media / first).exists()
    with django_capture_on_commit_callbacks(execute=True):
        post(client, editor, **{"logo-clear": "on"})
    assert not Charity.objects.get(pk=editor.charity_id).logo
    assert not (media / second).exists()
