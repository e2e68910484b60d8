import logging
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from accounts.models import User
from charities.models import Charity
from needs.models import Need
from subscriptions.models import Contribution, Subscription
from web.management.commands.seed_demo import STEPS

pytestmark = pytest.mark.django_db


def _snapshot():
    return {
        "users": sorted(User.objects.values_list("email", "city", "state", "password")),
        "charities": sorted(
            Charity.objects.values_list(
                "ein", "verification_status", "mission", "gift_line", "logo", "applied_by"
            )
        ),
        "needs": sorted(
            Need.objects.values_list(
                "charity__ein",
                "category",
                "urgency_score",
                "funding_gap_cents",
                "last_updated",
                "description",
            )
        ),
        "subscriptions": sorted(
            Subscription.objects.values_list("stripe_subscription_id", "amount_cents", "status")
        ),
        "contributions": sorted(
            Contribution.objects.values_list("stripe_invoice_id", "amount_cents", "paid_at")
        ),
    }


def _seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def _media_files(root):
    return {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def _logged(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno < logging.WARNING]


# Committed for real: money is logged when its transaction commits, inside the command.
@pytest.mark.django_db(transaction=True)
def test_it_builds_the_demo_world_and_a_second_run_changes_nothing(settings, tmp_path, caplog):
    settings.DEBUG = True
    settings.MEDIA_ROOT = tmp_path
    out = _seed()
    # Quiet by default: a line per step as it goes, then the summary (what the demo holds,
    # the logins, where emails go); none of the engine's logs (a money line per payment).
    lines = out.splitlines()
    assert len(lines) == len(STEPS) + 3, out
    for line, step in zip(lines, STEPS, strict=False):
        assert line.startswith(step) and "... " in line, line
    assert lines[len(STEPS)].startswith("Demo seeded. Now: 40 approved charities, ")
    assert lines[-1].startswith("Emails the site sends ")
    assert _logged(caplog) == []
    first = _snapshot()
    files = _media_files(tmp_path)

    cities = set(
        Charity.objects.filter(verification_status="approved").values_list("city", "state")
    )
    assert {("Springfield", "VT"), ("Springfield", "KY")} <= cities
    assert len(cities) >= 3
    assert Charity.objects.filter(verification_status="pending").exists()
    approved_ids = Charity.objects.filter(verification_status="approved").values("id")
    assert (
        Need.objects.filter(charity__in=approved_ids).values("charity").distinct().count()
        == approved_ids.count()
    )
    donors = User.objects.filter(is_staff=False)
    assert 150 <= donors.count() <= 250
    assert set(Subscription.objects.values_list("status", flat=True)) == {
        "active",
        "paused",
        "cancelled",
    }
    assert Contribution.objects.values("paid_at__date").distinct().count() >= 3
    admin = User.objects.get(email="admin@example.org")
    assert admin.is_staff and admin.is_superuser and admin.check_password("hometown-demo")
    assert "admin@example.org" in out and "hometown-demo" in out

    # The demo weeks went through the real engine: every placed cent is a row, and the
    # Laramie donors' money (no charity there) is held.
    from django.db.models import Sum

    from distributions.models import Distribution
    from reports.models import Report

    placed = Contribution.objects.filter(distributed_week__isnull=False)
    assert (
        Distribution.objects.aggregate(s=Sum("amount_cents"))["s"]
        == placed.aggregate(s=Sum("amount_cents"))["s"]
    )
    held = Contribution.objects.filter(distributed_week__isnull=True)
    assert set(held.values_list("subscription__user__city", flat=True)) == {"Laramie"}
    assert Report.objects.filter(user__email="alice@example.org").count() == 4

    again = _seed("-v", "2")
    assert "nothing changed" in again
    assert _snapshot() == first
    assert _media_files(tmp_path) == files  # no logo written again, none added
    # -v 2: the logs too (the weekly runs, rerun for nothing, still say they finished).
    finished = [m for m in _logged(caplog) if m.startswith("event=run_finished")]
    assert len(finished) == 4, _logged(caplog)[:5]


def test_the_demo_charities_have_a_profile_a_logo_and_described_needs(settings, tmp_path):
    settings.DEBUG = True
    settings.MEDIA_ROOT = tmp_path
    out = _seed()

    approved = Charity.objects.filter(verification_status="approved")
    assert approved.count() == 40
    for charity in approved:
        assert charity.city in charity.mission, charity.mission
        assert charity.gift_line and "\n" not in charity.gift_line
        assert charity.logo.name == f"logos/demo-{charity.ein}.png"
        with charity.logo.open("rb") as stream, Image.open(stream) as image:
            assert image.format == "PNG"
            assert image.size == (256, 256)
    assert len(set(approved.values_list("mission", flat=True))) > 12
    assert {p.name for p in (tmp_path / "logos").iterdir()} == {
        f"demo-{ein}.png" for ein in approved.values_list("ein", flat=True)
    }
    assert not Need.objects.filter(description="").exists()
    assert len(set(Need.objects.values_list("description", flat=True))) > 12

    # One application waits for staff, made the way the site makes them.
    applicant = User.objects.get(email="applicant@example.org")
    assert applicant.check_password("hometown-demo")
    applied = Charity.objects.get(applied_by__isnull=False)
    assert applied.applied_by == applicant and applied.applied_at is not None
    assert applied.verification_status == "pending" and applied.city == "Burlington"
    assert applied.members.get().user == applicant
    assert applied.application_flags.startswith("Name: applicant wrote")
    assert "applicant@example.org" in out and "charity@example.org" in out


def test_a_members_profile_is_kept_and_a_decided_application_is_not_made_again(settings, tmp_path):
    settings.DEBUG = True
    settings.MEDIA_ROOT = tmp_path
    _seed()
    charity = Charity.objects.filter(verification_status="approved").order_by("ein").first()
    Charity.objects.filter(pk=charity.pk).update(mission="Our own words.", logo="")
    Charity.objects.filter(applied_by__isnull=False).update(verification_status="rejected")

    _seed()
    charity.refresh_from_db()
    assert charity.mission == "Our own words."
    assert charity.logo.name == f"logos/demo-{charity.ein}.png"  # the stored file, again
    assert len(list((tmp_path / "logos").iterdir())) == 40
    assert Charity.objects.filter(applied_by__isnull=False).count() == 1


def test_it_refuses_to_seed_a_production_site(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG off"):
        _seed()
    assert not User.objects.exists()
