"""The portal's people page (charities.portal_views, services.invite_member and friends):
everyone who works for the charity sees the list; only owners add, change or remove, and
the last owner stays. Someone without an account gets a signed invitation by email."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from charities.models import CharityMember
from tests.factories import CharityFactory, CharityMemberFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(db):
    return CharityMemberFactory(role="owner", charity=CharityFactory(name="Oak Food Shelf"))


@pytest.fixture
def editor(owner):
    return CharityMemberFactory(role="editor", charity=owner.charity)


def url(name, member):
    return reverse(f"portal:{name}", args=[member.charity_id])


def test_editors_see_the_list_but_no_buttons(client, owner, editor):
    client.force_login(editor.user)
    page = client.get(url("members", editor)).content.decode()
    assert owner.user.email in page and editor.user.email in page
    assert "Add an editor" not in page and "Remove" not in page


def test_an_editor_may_not_invite_change_or_remove(client, owner, editor):
    client.force_login(editor.user)
    assert client.post(url("member_invite", editor), {"email": "x@example.org"}).status_code == 403
    demote = {"member": owner.pk, "role": "editor"}
    assert client.post(url("member_role", editor), demote).status_code == 403
    assert client.post(url("member_remove", editor), {"member": owner.pk}).status_code == 403
    assert CharityMember.objects.get(pk=owner.pk).role == "owner"
    assert mail.outbox == []


def test_an_owner_adds_an_existing_user_who_is_emailed(
    client, owner, django_capture_on_commit_callbacks
):
    someone = UserFactory(email="helper@example.org")
    client.force_login(owner.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("member_invite", owner), {"email": "Helper@Example.org"})
    assert response.status_code == 302
    member = CharityMember.objects.get(charity=owner.charity, user=someone)
    assert member.role == "editor" and member.added_by == owner.user
    assert mail.outbox[0].to == ["helper@example.org"]
    assert "/portal/" in mail.outbox[0].body and "Oak Food Shelf" in mail.outbox[0].subject


def test_adding_a_member_twice_is_a_form_error(client, owner, editor):
    client.force_login(owner.user)
    response = client.post(url("member_invite", owner), {"email": editor.user.email})
    assert response.status_code == 400 and "already a member" in response.content.decode()


def test_a_bad_email_is_a_form_error(client, owner):
    client.force_login(owner.user)
    response = client.post(url("member_invite", owner), {"email": "not an email"})
    assert response.status_code == 400 and response.context["invite_form"].errors["email"]


def invitation_link(client, owner, email, capture):
    client.force_login(owner.user)
    with capture(execute=True):
        assert client.post(url("member_invite", owner), {"email": email}).status_code == 302
    body = mail.outbox[-1].body
    assert "/accounts/signup/?next=/portal/join/" in body
    return re.search(r"http://\S+(/portal/join/\S+/)", body).group(1)


def test_someone_new_is_invited_and_joins_after_signing_up(
    client, owner, django_capture_on_commit_callbacks
):
    link = invitation_link(client, owner, "new@example.org", django_capture_on_commit_callbacks)
    assert not CharityMember.objects.filter(user__email="new@example.org").exists()
    newcomer = UserFactory(email="new@example.org")  # signed up through allauth
    client.force_login(newcomer)
    assert client.get(link).status_code == 200
    response = client.post(link)
    assert response.status_code == 302
    member = CharityMember.objects.get(user=newcomer)
    assert member.charity == owner.charity and member.role == "editor"
    assert client.post(link).status_code == 302  # a second click changes nothing
    assert CharityMember.objects.filter(user=newcomer).count() == 1


def test_an_invitation_is_only_for_its_address_and_only_while_the_inviter_owns(
    client, owner, django_capture_on_commit_callbacks
):
    link = invitation_link(client, owner, "new@example.org", django_capture_on_commit_callbacks)
    client.force_login(UserFactory(email="someone-else@example.org"))
    response = client.post(link)
    assert response.status_code == 400 and "new@example.org" in response.content.decode()
    client.force_login(UserFactory(email="new@example.org"))
    assert client.post(link[:-3] + "xx/").status_code == 400  # tampered
    CharityMemberFactory(role="owner", charity=owner.charity)
    owner.delete()  # the inviter left
    assert client.post(link).status_code == 400
    assert not CharityMember.objects.filter(user__email="new@example.org").exists()


def test_an_owner_changes_roles_and_removes_members(client, owner, editor):
    client.force_login(owner.user)
    promote = {"member": editor.pk, "role": "owner"}
    assert client.post(url("member_role", owner), promote).status_code == 302
    assert CharityMember.objects.get(pk=editor.pk).role == "owner"
    assert client.post(url("member_remove", owner), {"member": editor.pk}).status_code == 302
    assert not CharityMember.objects.filter(pk=editor.pk).exists()


def test_the_last_owner_stays(client, owner, editor):
    client.force_login(owner.user)
    response = client.post(url("member_role", owner), {"member": owner.pk, "role": "editor"})
    assert response.status_code == 400 and "at least one owner" in response.content.decode()
    response = client.post(url("member_remove", owner), {"member": owner.pk})
    assert response.status_code == 400 and "at least one owner" in response.content.decode()
    assert CharityMember.objects.get(pk=owner.pk).role == "owner"


def test_a_member_of_another_charity_cannot_be_touched(client, owner):
    elsewhere = CharityMemberFactory(role="editor")
    client.force_login(owner.user)
    assert client.post(url("member_remove", owner), {"member": elsewhere.pk}).status_code == 404
    garbage = {"member": "abc", "role": "owner"}
    assert client.post(url("member_role", owner), garbage).status_code == 404
    assert CharityMember.objects.filter(pk=elsewhere.pk).exists()
