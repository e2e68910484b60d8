import csv
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from charities.models import Charity, IrsImport

pytestmark = pytest.mark.django_db

DEMO_CSV = Path(settings.BASE_DIR) / "charities" / "data" / "irs_bmf_demo.csv"
HEADER = DEMO_CSV.open(encoding="utf-8").readline().strip().split(",")


def _row(
    ein,
    name,
    city,
    state,
    zip_code,
    *,
    subsection="03",
    deductibility="1",
    foundation="15",
    status="01",
    ntee="K31",
):
    row = dict.fromkeys(HEADER, "")
    row.update(
        EIN=ein,
        NAME=name,
        CITY=city,
        STATE=state,
        ZIP=zip_code,
        SUBSECTION=subsection,
        DEDUCTIBILITY=deductibility,
        FOUNDATION=foundation,
        STATUS=status,
        NTEE_CD=ntee,
    )
    return row


def _write(path: Path, rows) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _import(path, *args) -> str:
    out = StringIO()
    call_command("import_charities", str(path), *args, stdout=out)
    return out.getvalue()


ROWS = [
    _row("030000001", "SOUTH BURLINGTON FOOD SHELF INC", "S BURLINGTON", "VT", "05403-1234"),
    _row("030000002", "THE YMCA OF SOUTH BURLINGTON", "SOUTH BURLINGTON", "VT", "05403"),
    _row("030000003", "ROTARY CLUB", "BURLINGTON", "VT", "05401", subsection="04"),
    _row("030000004", "FRIENDS DINNER", "BURLINGTON", "VT", "05401", deductibility="2"),
    _row("030000005", "SMITH FAMILY FOUNDATION", "BURLINGTON", "VT", "05401", foundation="04"),
    _row("030000006", "NEW START", "BURLINGTON", "VT", "05401", status="12"),
    _row("030000001", "SOUTH BURLINGTON FOOD SHELF INC", "S BURLINGTON", "VT", "05403"),
    _row("030000007", "BURLINGTON ARTS", "BURLINGTON", "VT", "05401", ntee="A20"),
]


def test_it_keeps_deductible_public_charities_and_counts_each_skip(tmp_path):
    out = _import(_write(tmp_path / "eo.csv", ROWS))
    assert "Created 3, updated 0, unchanged 0; skipped 5." in out
    for reason in [
        "not a 501(c)(3)",
        "not tax-deductible",
        "private non-operating",
        "not unconditional",
        "EIN repeated",
    ]:
        assert reason in out
    assert set(Charity.objects.values_list("ein", flat=True)) == {
        "030000001",
        "030000002",
        "030000007",
    }


def test_it_makes_names_and_cities_readable_and_places_them_by_zip(tmp_path):
    _import(_write(tmp_path / "eo.csv", ROWS))
    shelf = Charity.objects.get(ein="030000001")
    ymca = Charity.objects.get(ein="030000002")
    assert shelf.name == "South Burlington Food Shelf Inc"
    assert ymca.name == "The YMCA of South Burlington"  # acronyms stay upper case
    # "S BURLINGTON" and "SOUTH BURLINGTON" are one city.
    assert shelf.city == ymca.city == "South Burlington"
    assert (shelf.zip_code, shelf.category, shelf.verification_status) == (
        "05403",
        "food",
        "pending",
    )
    assert shelf.coordinates_source == "zip"
    assert 44 < shelf.latitude < 45 and -74 < shelf.longitude < -72
    assert Charity.objects.get(ein="030000007").category == "arts"


def test_a_reimport_updates_by_ein_and_never_duplicates(tmp_path):
    path = _write(tmp_path / "eo.csv", ROWS)
    _import(path)
    charity = Charity.objects.get(ein="030000007")
    charity.description = "Written by staff."
    charity.save()
    renamed = [
        *ROWS[:-1],
        _row("030000007", "BURLINGTON ARTS COUNCIL", "BURLINGTON", "VT", "05401", ntee="A20"),
    ]
    out = _import(_write(tmp_path / "eo2.csv", renamed), "--approve")
    assert "Created 0, updated 3, unchanged 0, approved 3" in out
    charity.refresh_from_db()
    assert charity.name == "Burlington Arts Council"
    assert charity.description == "Written by staff."
    assert charity.verification_status == "approved" and charity.approved_at is not None
    assert Charity.objects.count() == 3
    assert "Created 0, updated 0, unchanged 3" in _import(_write(tmp_path / "eo3.csv", renamed))


def test_approve_never_approves_a_rejected_charity(tmp_path, carol):
    from charities.services import reject_charity

    path = _write(tmp_path / "eo.csv", ROWS)
    _import(path)
    reject_charity(Charity.objects.get(ein="030000001"), by=carol, note="Closed.")
    _import(path, "--approve")
    assert Charity.objects.get(ein="030000001").verification_status == "rejected"


def test_it_imports_the_real_demo_extract(tmp_path):
    out = _import(DEMO_CSV)
    kept = Charity.objects.count()
    assert kept > 100
    assert f"{kept} charities kept" in out
    springfields = set(
        Charity.objects.filter(city="Springfield").values_list("state", flat=True).distinct()
    )
    assert {"VT", "KY"} <= springfields
    assert not Charity.objects.filter(ein="").exists()
    # Re-importing the same real file changes nothing.
    assert f"Created 0, updated 0, unchanged {kept}" in _import(DEMO_CSV)
    assert Charity.objects.count() == kept


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name,city\nFood,Burlington\n", "missing"),
        ("", "empty"),
    ],
)
def test_a_file_of_the_wrong_format_is_refused_in_one_line(tmp_path, content, message):
    path = tmp_path / "wrong.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CommandError) as exc:
        _import(path)
    assert "\n" not in str(exc.value)
    assert message in str(exc.value).lower()
    assert not Charity.objects.exists()


def test_a_binary_file_is_refused(tmp_path):
    path = tmp_path / "eo.csv"
    path.write_bytes(b"\xff\xfe\x00EIN,NAME\x00\x81\x82")
    with pytest.raises(CommandError, match="not a readable CSV file"):
        _import(path)


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        _import(tmp_path / "nope.csv")


GOOD_LINE = "030000001,FOOD SHELF,BURLINGTON,VT,05401,03,1,15,01,K31"


@pytest.mark.parametrize(
    ("bad_line", "problem"),
    [
        ("030000002,SHORT ROW,BURLINGTON", "3 columns"),
        ('030000002,"UNCLOSED NAME,BURLINGTON,VT,05401,03,1,15,01,K31', "quote"),
        ("030000002,NUL\x00NAME,BURLINGTON,VT,05401,03,1,15,01,K31", "NUL"),
        ("030000002,LONG ROW,BURLINGTON,VT,05401,03,1,15,01,K31,X,Y", "12 columns"),
    ],
    ids=["short row", "unclosed quote", "NUL in a name", "long row"],
)
def test_a_malformed_row_is_refused_in_one_line_naming_the_file_and_line(
    tmp_path, bad_line, problem
):
    header = "EIN,NAME,CITY,STATE,ZIP,SUBSECTION,DEDUCTIBILITY,FOUNDATION,STATUS,NTEE_CD"
    path = tmp_path / "eo_bad.csv"
    path.write_text("\n".join([header, GOOD_LINE, bad_line, GOOD_LINE]) + "\n", encoding="utf-8")
    with pytest.raises(CommandError) as exc:
        _import(path)
    message = str(exc.value)
    assert "\n" not in message
    assert "eo_bad.csv" in message and "line 3" in message and problem in message
    assert not Charity.objects.exists()
    assert not IrsImport.objects.exists()


def test_an_undecodable_byte_in_a_row_is_refused_naming_the_line(tmp_path):
    header = b"EIN,NAME,CITY,STATE,ZIP,SUBSECTION,DEDUCTIBILITY,FOUNDATION,STATUS,NTEE_CD"
    bad = b"030000002,CAF\xe9 NAME,BURLINGTON,VT,05401,03,1,15,01,K31"
    path = tmp_path / "eo_latin1.csv"
    path.write_bytes(b"\n".join([header, GOOD_LINE.encode(), bad, b""]))
    with pytest.raises(CommandError) as exc:
        _import(path)
    message = str(exc.value)
    assert "\n" not in message
    assert "eo_latin1.csv" in message and "line 3" in message and "UTF-8" in message
    assert not Charity.objects.exists()
    assert not IrsImport.objects.exists()
