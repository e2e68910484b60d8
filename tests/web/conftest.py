"""Staff of the admin's money pages (besides carol and dave of tests/conftest.py):

- mona: staff who may view distribution runs: reads held money and previews weeks, has
  no "Run this week" button and is refused (403) on the run endpoint.
- rick: mona's permissions plus distributions.run_distribution_week: may queue a run.
- sam: staff with no permission at all: 403 on every money page.
"""

import pytest
from django.contrib.auth.models import Permission

from tests.factories import UserFactory


def _staff(email, *codenames):
    user = UserFactory(email=email, is_staff=True, city="", state="", zip_code="")
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="distributions", codename__in=codenames)
    )
    return user


@pytest.fixture
def mona(db):
    return _staff("mona@example.org", "view_distributionrun")


@pytest.fixture
def rick(db):
    return _staff("rick@example.org", "view_distributionrun", "run_distribution_week")


@pytest.fixture
def sam(db):
    return _staff("sam@example.org")


@pytest.fixture
def no_demo_billing(settings):
    """The money pages' tests build every contribution themselves (the seed's tests in
    this folder need demo billing, so this is asked for by name)."""
    settings.DEMO_BILLING = False
