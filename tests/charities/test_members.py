"""Charity members: who may use a charity's portal, with which role."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from charities import services
from charities.models import CharityMember
from needs.models import Need
from tests.factories import (
    CharityFactory,
    CharityMemberFactory,
    DistributionFactory,
    NeedFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_one_membership_per_user_and_charity_and_only_known_roles():
    member = CharityMemberFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        CharityMember.objects.create(charity=member.charity, user=member.user, role="editor")
    with pytest.raises(IntegrityError), transaction.atomic():
        CharityMember.objects.create(charity=member.charity, user=UserFactory(), role="admin")


def test_add_member_adds_or_changes_the_role():
    charity = CharityFactory()
    owner, editor = UserFactory(), UserFactory()
    services.add_member(charity, user=owner, role="owner")
    member = services.add_member(charity, user=editor, role="editor", by=owner)
    assert (member.role, member.added_by) == ("editor", owner)
    assert services.add_member(charity, user=editor, role="owner").role == "owner"
    assert CharityMember.objects.filter(charity=charity).count() == 2
    with pytest.raises(ValidationError, match="role"):
        services.add_member(charity, user=editor, role="boss")


def test_the_last_owner_cannot_leave_or_step_down():
    owner = CharityMemberFactory(role="owner")
    with pytest.raises(ValidationError, match="at least one owner"):
        services.remove_member(owner)
    with pytest.raises(ValidationError, match="at least one owner"):
        services.add_member(owner.charity, user=owner.user, role="editor")
    assert CharityMember.objects.get(pk=owner.pk).role == "owner"
    second = services.add_member(owner.charity, user=UserFactory(), role="owner")
    services.remove_member(owner)
    assert list(CharityMember.objects.filter(charity=owner.charity)) == [second]


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def _change_page_data(admin_client, charity) -> dict:
    """The charity change form as the browser would post it, unchanged."""
    response = admin_client.get(reverse("admin:charities_charity_change", args=[charity.pk]))
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None:
            continue
        data[name] = value.pk if hasattr(value, "pk") else value
    for formset in response.context["inline_admin_formsets"]:
        fs = formset.formset
        for key, value in fs.management_form.initial.items():
            data[f"{fs.prefix}-{key}"] = value
        for i, f in enumerate(fs.forms):
            for name in f.fields:
                value = f.initial.get(name, f.fields[name].initial)
                if value is not None:
                    data[f"{fs.prefix}-{i}-{name}"] = value.pk if hasattr(value, "pk") else value
    return data, {
        fs.formset.model: fs.formset.prefix for fs in response.context["inline_admin_formsets"]
    }


def test_staff_add_a_member_in_the_admin(admin_client):
    charity = CharityFactory()
    user = UserFactory(email="volunteer@example.org")
    data, prefixes = _change_page_data(admin_client, charity)
    prefix = prefixes[CharityMember]
    data.update({f"{prefix}-TOTAL_FORMS": 1, f"{prefix}-0-user": user.pk,
                 f"{prefix}-0-role": "owner"})  # fmt: skip
    response = admin_client.post(
        reverse("admin:charities_charity_change", args=[charity.pk]), data
    )
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    member = CharityMember.objects.get(charity=charity)
    assert (member.user, member.role, member.added_by.is_superuser) == (user, "owner", True)


def test_the_admin_refuses_members_without_an_owner(admin_client):
    charity = CharityFactory()
    data, prefixes = _change_page_data(admin_client, charity)
    prefix = prefixes[CharityMember]
    data.update({f"{prefix}-TOTAL_FORMS": 1, f"{prefix}-0-user": UserFactory().pk,
                 f"{prefix}-0-role": "editor"})  # fmt: skip
    response = admin_client.post(
        reverse("admin:charities_charity_change", args=[charity.pk]), data
    )
    assert response.status_code == 200
    assert "needs at least one owner" in response.content.decode()
    assert not CharityMember.objects.exists()


def test_the_portal_overview_shows_the_charitys_money_needs_and_people(client):
    member = CharityMemberFactory(role="editor", user=UserFactory(email="ed@example.org"))
    charity = member.charity
    CharityMemberFactory(charity=charity, user=UserFactory(email="olga@example.org"))
    DistributionFactory(charity=charity, amount_cents=1234)
    DistributionFactory(charity=charity, amount_cents=766)
    NeedFactory(charity=charity, category="food", urgency_score=80, funding_gap_cents=250_000)
    assert Need.objects.filter(charity=charity).count() == 1
    client.force_login(member.user)
    page = client.get(reverse("portal:overview", args=[charity.pk])).content.decode()
    assert charity.name in page and "you are editor" in page
    assert "$20.00" in page  # given: the two rows
    assert "80/100" in page and "$2,500.00" in page
    assert "olga@example.org · owner" in page and "ed@example.org · editor" in page
