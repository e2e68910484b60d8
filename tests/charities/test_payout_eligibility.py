"""Every branch of charities.selectors.get_payout_eligibility (DESIGN, "Payouts")."""

import datetime as dt

import pytest
from django.utils import timezone

from charities.models import CharityStatus, IrsImport
from charities.selectors import get_payout_eligibility, latest_irs_imports
from tests.factories import CharityFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def _import(states, days_ago=0):
    return IrsImport.objects.create(
        source_name="eo.csv", states=states, rows=10, imported_at=NOW - dt.timedelta(days=days_ago)
    )


def _listed(batch, **kwargs):
    facts = {"irs_status": "01", "irs_deductibility": "1", "irs_subsection": "03"}
    return CharityFactory(irs_last_import=batch, **{"ein": "030000001", **facts, **kwargs})


def _verdict(charity):
    return get_payout_eligibility([charity], at=NOW)[charity.pk]


def test_an_approved_charity_listed_deductible_by_the_latest_import_is_eligible():
    charity = _listed(_import(["VT"]))
    verdict = _verdict(charity)
    assert verdict.eligible and verdict.reason == ""
    assert verdict.facts["irs_deductibility"] == "1" and verdict.facts["ein"] == "030000001"
    assert verdict.facts["checked_at"] == NOW.isoformat()


@pytest.mark.parametrize("status", [CharityStatus.PENDING, CharityStatus.REJECTED])
def test_a_charity_that_is_not_approved_is_not_eligible_even_when_the_irs_lists_it(status):
    verdict = _verdict(_listed(_import(["VT"]), verification_status=status))
    assert not verdict.eligible and verdict.reason.startswith("not approved")


def test_an_approved_charity_without_an_ein_is_eligible_without_any_import():
    verdict = _verdict(CharityFactory(ein=""))
    assert verdict.eligible and verdict.facts["latest_irs_import_id"] is None


def test_a_charity_with_an_ein_in_a_state_no_import_covers_waits():
    _import(["WY"])
    verdict = _verdict(CharityFactory(ein="030000001", state="VT"))
    assert not verdict.eligible and verdict.reason == "no IRS BMF import covers VT yet"


def test_a_charity_missing_from_the_latest_import_of_its_state_needs_review():
    old = _import(["VT"], days_ago=30)
    charity = _listed(old)
    newer = _import(["VT", "NH"])
    verdict = _verdict(charity)
    assert not verdict.eligible and verdict.reason.startswith("needs review")
    assert verdict.facts["latest_irs_import_id"] == newer.pk
    assert verdict.facts["irs_import_id"] == old.pk


def test_an_import_of_another_state_does_not_put_a_charity_in_review():
    charity = _listed(_import(["VT"], days_ago=30))
    _import(["WY"])
    assert _verdict(charity).eligible


@pytest.mark.parametrize(
    "facts, words",
    [
        ({"irs_deductibility": "2"}, "deductibility 2"),
        ({"irs_deductibility": ""}, "deductibility ?"),
        ({"irs_status": "12"}, "status 12"),
        ({"irs_status": "02"}, "status 02"),
    ],
)
def test_a_charity_the_irs_lists_as_not_deductible_or_not_unconditionally_exempt_waits(
    facts, words
):
    verdict = _verdict(_listed(_import(["VT"]), **facts))
    assert not verdict.eligible and words in verdict.reason


def test_the_latest_import_of_a_state_is_the_newest_by_time_then_id():
    first = _import(["VT"], days_ago=1)
    later_id_but_older = _import(["VT"], days_ago=5)
    assert later_id_but_older.pk > first.pk
    assert latest_irs_imports()["VT"] == first


def test_many_charities_are_judged_in_one_query(django_assert_num_queries):
    batch = _import(["VT"])
    charities = [_listed(batch, ein=f"03000000{n}") for n in range(5)]
    with django_assert_num_queries(1):  # the imports; the charities are given
        verdicts = get_payout_eligibility(charities)
    assert all(v.eligible for v in verdicts.values()) and len(verdicts) == 5
