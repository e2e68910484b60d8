"""The seed-named charity functions are the path the product takes: narrow what a
selector returns (here, in the test) and the engine, the pages and the import follow."""

import io

import pytest
from django.core.management import call_command

import charities.selectors
import charities.services
import portfolio.services
from charities.models import Charity
from distributions.models import Distribution
from portfolio.services import distribute_funds
from tests.portfolio.scenario import NOW, WEEK, charity, donor, paid

pytestmark = pytest.mark.django_db


def test_the_engine_takes_its_candidates_from_get_charities_by_city(monkeypatch):
    assert portfolio.services.get_charities_by_city is charities.selectors.get_charities_by_city
    kept, left_out = charity(name="Kept"), charity(name="Left Out")
    paid(donor(), 1000)
    real = charities.selectors.get_charities_by_city
    monkeypatch.setattr(
        portfolio.services,
        "get_charities_by_city",
        lambda city, state: real(city, state).exclude(pk=left_out.pk),
    )

    distribute_funds(WEEK, now=NOW)

    given = dict(Distribution.objects.values_list("charity_id", "amount_cents"))
    assert given == {kept.pk: 1000}


def test_the_public_page_finds_a_charity_through_get_charity(client, monkeypatch):
    shown = charity(name="Shown")
    assert client.get(f"/charities/{shown.pk}/").status_code == 200
    monkeypatch.setattr(charities.selectors, "get_charity", lambda charity_id: None)
    assert client.get(f"/charities/{shown.pk}/").status_code == 404


def test_the_import_approves_through_the_vetting_service(monkeypatch, tmp_path):
    calls = []
    real = charities.services.approve_charities

    def spy(ids, **kwargs):
        calls.append(kwargs)
        return real(ids, **kwargs)

    monkeypatch.setattr("charities.imports.approve_charities", spy)
    csv = tmp_path / "eo.csv"
    csv.write_text(
        "EIN,NAME,ICO,STREET,CITY,STATE,ZIP,GROUP,SUBSECTION,AFFILIATION,CLASSIFICATION,"
        "RULING,DEDUCTIBILITY,FOUNDATION,ACTIVITY,ORGANIZATION,STATUS,TAX_PERIOD,ASSET_CD,"
        "INCOME_CD,FILING_REQ_CD,PF_FILING_REQ_CD,ACCT_PD,ASSET_AMT,INCOME_AMT,REVENUE_AMT,"
        "NTEE_CD,SORT_NAME\n"
        "030111111,TOWN FOOD SHELF,,1 MAIN ST,SPRINGFIELD,VT,05156-0001,0000,03,3,1000,"
        "199001,1,15,000000000,1,01,202312,0,0,01,0,12,0,0,0,K31,\n"
    )
    call_command("import_charities", str(csv), "--approve", stdout=io.StringIO())

    charity_row = Charity.objects.get(ein="030111111")
    assert charity_row.verification_status == "approved"
    assert charity_row.approved_by is None  # the platform, on a staff member's command
    assert "Approved: imported from eo.csv with --approve" in charity_row.admin_notes
    assert [c["by"] for c in calls] == [None]
