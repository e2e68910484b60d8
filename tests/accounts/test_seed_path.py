"""The seed-named account functions are the path the product takes: the duplicate check
of create_user is get_user_by_email, and the reports find their donor by get_user_by_id."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

import accounts.services
import reports.services
from accounts.services import create_user
from reports.services import generate_report

pytestmark = pytest.mark.django_db


def test_create_user_finds_an_existing_email_through_get_user_by_email(monkeypatch, alice):
    with pytest.raises(ValidationError) as exc:
        create_user(email="ALICE@example.org", password="a-long-password-1")
    found = exc.value.message_dict["email"]

    # With the lookup blinded, the model's own unique check is what stops the duplicate,
    # in its own words.
    monkeypatch.setattr(accounts.services, "get_user_by_email", lambda email: None)
    with pytest.raises(ValidationError) as blinded:
        create_user(email="ALICE@example.org", password="a-long-password-1")
    assert blinded.value.message_dict["email"] != found


def test_a_report_finds_its_donor_through_get_user_by_id(monkeypatch, alice):
    assert generate_report(alice, dt.date(2026, 11, 9)) is None  # no money given: no report
    monkeypatch.setattr(reports.services, "get_user_by_id", lambda user_id: None)
    with pytest.raises(ValidationError) as exc:
        generate_report(alice, dt.date(2026, 11, 9))
    assert set(exc.value.message_dict) == {"user"}
