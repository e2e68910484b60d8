"""The IRS import records what it saw (an IrsImport, each listed charity's standing) and
the payout eligibility rule reads it (charities.selectors.get_payout_eligibility)."""

import datetime as dt

import pytest
from django.core.management import CommandError
from django.utils import timezone

from charities import imports
from charities.models import Charity, IrsImport
from charities.selectors import get_payout_eligibility
from tests.charities.test_import import _import, _row, _write
from tests.factories import CharityFactory

pytestmark = pytest.mark.django_db

FOOD = _row("030000001", "SOUTH BURLINGTON FOOD SHELF INC", "S BURLINGTON", "VT", "05403")
ARTS = _row("030000007", "BURLINGTON ARTS", "BURLINGTON", "VT", "05401", ntee="A20")
SHELTER = _row("030000008", "BURLINGTON SHELTER", "BURLINGTON", "VT", "05401")
WY_CLUB = _row("830000009", "CHEYENNE CLUB", "CHEYENNE", "WY", "82001", subsection="07")


def _eligibility(charity):
    charity.refresh_from_db()
    return get_payout_eligibility([charity])[charity.pk]


def test_an_import_records_its_source_states_rows_and_each_listed_charitys_facts(tmp_path):
    out = _import(_write(tmp_path / "eo_vt.csv", [FOOD, ARTS, WY_CLUB]))
    batch = IrsImport.objects.get()
    assert (batch.source_name, batch.states, batch.rows) == ("eo_vt.csv", ["VT", "WY"], 3)
    assert abs(batch.imported_at - timezone.now()) < dt.timedelta(minutes=1)
    food = Charity.objects.get(ein="030000001")
    assert (food.irs_last_import, food.irs_status, food.irs_deductibility,
            food.irs_subsection) == (batch, "01", "1", "03")  # fmt: skip
    assert "confirmed 2 charities" in out and "0 charities of these states" in out


def test_a_charity_that_lost_deductibility_is_seen_with_its_new_status(tmp_path):
    _import(_write(tmp_path / "first.csv", [FOOD, ARTS]), "--approve")
    food = Charity.objects.get(ein="030000001")
    assert _eligibility(food).eligible
    lost = {**FOOD, "DEDUCTIBILITY": "2"}  # now a skipped row: not tax-deductible
    out = _import(_write(tmp_path / "second.csv", [lost, ARTS]))
    second = IrsImport.objects.order_by("-id").first()
    food.refresh_from_db()
    assert (food.irs_last_import, food.irs_deductibility, food.irs_status) == (second, "2", "01")
    verdict = _eligibility(food)
    assert not verdict.eligible and "deductibility 2" in verdict.reason
    assert "confirmed 2 charities" in out and "0 charities of VT are not listed" in out


def test_a_charity_missing_from_a_newer_import_of_its_state_needs_review(tmp_path):
    _import(_write(tmp_path / "first.csv", [FOOD, ARTS, SHELTER]), "--approve")
    other_state = CharityFactory(state="KY", city="Springfield", ein="610000001")
    out = _import(_write(tmp_path / "second.csv", [FOOD, ARTS]))
    assert (
        "confirmed 2 charities; 1 charity of VT is not listed and needs review "
        "(approved: its payouts wait)." in out
    )
    shelter = Charity.objects.get(ein="030000008")
    verdict = _eligibility(shelter)
    assert not verdict.eligible and verdict.reason.startswith("needs review")
    assert verdict.facts["irs_import_id"] != verdict.facts["latest_irs_import_id"]
    # Kentucky is not covered by either file: its charity is unknown to the IRS imports.
    assert "no IRS BMF import covers KY" in _eligibility(other_state).reason


def test_a_refused_file_records_no_import(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("EIN,NAME\n030000001,X\n", encoding="utf-8")
    with pytest.raises(CommandError):
        _import(path)
    assert not IrsImport.objects.exists() and not Charity.objects.exists()


def test_the_import_is_all_or_nothing_with_its_facts(tmp_path, monkeypatch):
    _import(_write(tmp_path / "first.csv", [FOOD]))
    food = Charity.objects.get(ein="030000001")

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(imports, "_record_import", fail)
    with pytest.raises(RuntimeError):
        _import(_write(tmp_path / "second.csv", [{**FOOD, "STATUS": "12"}, ARTS]))
    assert IrsImport.objects.count() == 1
    assert list(Charity.objects.values_list("ein", flat=True)) == ["030000001"]
    food.refresh_from_db()
    assert food.irs_status == "01"


def test_the_facts_are_written_in_batches_not_per_charity(tmp_path, django_assert_max_num_queries):
    rows = [
        _row(
            f"0300{n:05d}",
            f"CHARITY {n}",
            "BURLINGTON",
            "VT",
            "05401",
            deductibility="1" if n % 3 else "2",
        )
        for n in range(300)
    ]
    _import(_write(tmp_path / "first.csv", rows))
    # A second import of the same 300 EINs: the reads, one UPDATE per facts group, the
    # IrsImport, the two needs-review counts; never one query per charity.
    with django_assert_max_num_queries(20):
        _import(_write(tmp_path / "second.csv", rows))
    second = IrsImport.objects.order_by("-id").first()
    assert Charity.objects.filter(irs_last_import=second).count() == 200  # kept rows only exist
