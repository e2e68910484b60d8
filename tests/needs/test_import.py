"""`manage.py import_needs FILE.csv`: all rows checked first; one bad row writes nothing."""

import pytest
from django.core.management import CommandError, call_command

from needs.imports import parse_dollars
from needs.models import Need, NeedChange
from tests.factories import CharityFactory, NeedFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shelf():
    return CharityFactory(name="Food Shelf", ein="030179436")


@pytest.fixture
def shelter():
    return CharityFactory(name="Shelter", ein="030179437")


def write(tmp_path, text, name="needs.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return str(path)


def test_it_imports_gaps_in_dollars(tmp_path, shelf, shelter, capsys):
    path = write(
        tmp_path,
        "ein,category,urgency_score,funding_gap\n"
        '03-0179436,food,90,"$12,500.00"\n'
        "030179437,housing,40,800.5\n",
    )
    call_command("import_needs", path)
    food = Need.objects.get(charity=shelf)
    assert (food.category, food.urgency_score, food.funding_gap_cents, food.source) == (
        "food", 90, 1_250_000, "manual",
    )  # fmt: skip
    assert Need.objects.get(charity=shelter).funding_gap_cents == 80_050
    assert "2 needs of 2 charities: 2 new, 0 changed, 0 unchanged" in capsys.readouterr().out
    change = food.changes.get()
    assert change.note == "imported from needs.csv line 2"
    assert change.source == "manual"


def test_it_imports_gaps_in_cents_by_charity_id(tmp_path, shelf):
    path = write(
        tmp_path,
        f"charity_id,category,urgency_score,funding_gap_cents\n{shelf.pk},youth,5,1999\n",
    )
    call_command("import_needs", path)
    assert Need.objects.get(charity=shelf).funding_gap_cents == 1999


def test_a_reimport_updates_and_keeps_the_history(tmp_path, shelf, capsys):
    NeedFactory(charity=shelf, category="food", urgency_score=10, funding_gap_cents=100)
    path = write(tmp_path, "ein,category,urgency_score,funding_gap_cents\n030179436,food,60,500\n")
    call_command("import_needs", path)
    change = NeedChange.objects.get()
    assert (change.old_urgency_score, change.new_urgency_score) == (10, 60)
    assert (change.old_funding_gap_cents, change.new_funding_gap_cents) == (100, 500)
    assert "0 new, 1 changed" in capsys.readouterr().out


def test_a_bom_and_spaced_capitalised_headers_are_fine(tmp_path, shelf):
    path = write(
        tmp_path,
        " EIN , Category ,Urgency_Score,Funding_Gap\n030179436,food,1,2\n",
        encoding="utf-8-sig",
    )
    call_command("import_needs", path)
    assert Need.objects.get(charity=shelf).funding_gap_cents == 200


def test_one_bad_row_writes_nothing_and_names_its_line(tmp_path, shelf, shelter, capsys):
    path = write(
        tmp_path,
        "ein,category,urgency_score,funding_gap\n"
        "030179436,food,90,100\n"
        "030179437,housing,140,100\n"
        "030179437,food,10,100\n",
    )
    with pytest.raises(CommandError, match="nothing imported"):
        call_command("import_needs", path)
    assert not Need.objects.exists()
    err = capsys.readouterr().err
    assert "needs.csv line 3: urgency_score must be at most 100, got 140" in err
    assert "line 2" not in err and "line 4" not in err


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("999999999,food,1,1", "line 2: no charity has EIN 999999999"),
        ("12345,food,1,1", "line 2: ein '12345' is not 9 digits"),
        (",food,1,1", "line 2: no charity: fill ein or charity_id"),
        ("030179436,food trucks,1,1", "line 2: category 'food trucks' is not one of"),
        ("030179436,food,high,1", "line 2: urgency_score 'high' is not a whole number"),
        ("030179436,food,80.0,1", "line 2: urgency_score '80.0' is not a whole number"),
        ("030179436,food,-1,1", "line 2: urgency_score '-1' is not a whole number"),
        ("030179436,food,1,-5", "line 2: funding_gap '-5' is not an amount of dollars"),
        ("030179436,food,1,1.234", "is not an amount of dollars"),
        ('030179436,food,1,"12,50"', "is not an amount of dollars"),
        ("030179436,food,1,", "is not an amount of dollars"),
        ("030179436,food,1,1,extra", "line 2: more values than columns"),
    ],
)
def test_bad_rows_are_explained(tmp_path, shelf, capsys, row, message):
    path = write(tmp_path, f"ein,category,urgency_score,funding_gap\n{row}\n")
    with pytest.raises(CommandError):
        call_command("import_needs", path)
    assert message in capsys.readouterr().err
    assert not Need.objects.exists()


def test_the_same_charity_and_category_twice_is_refused(tmp_path, shelf, capsys):
    path = write(
        tmp_path,
        "ein,category,urgency_score,funding_gap_cents\n030179436,food,1,1\n030179436,food,2,2\n",
    )
    with pytest.raises(CommandError):
        call_command("import_needs", path)
    assert "line 3: Food Shelf / food already appears on line 2" in capsys.readouterr().err


def test_ein_and_charity_id_naming_different_charities_is_refused(
    tmp_path, shelf, shelter, capsys
):
    path = write(
        tmp_path,
        f"ein,charity_id,category,urgency_score,funding_gap_cents\n"
        f"030179436,{shelter.pk},food,1,1\n",
    )
    with pytest.raises(CommandError):
        call_command("import_needs", path)
    assert "name different charities" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("ein,category,urgency_score\n030179436,food,1\n", "missing column(s)"),
        ("category,urgency_score,funding_gap\nfood,1,1\n", "ein or charity_id"),
        (
            "ein,category,urgency_score,funding_gap,funding_gap_cents\n030179436,food,1,1,1\n",
            "not both",
        ),
        ("ein,category,urgency_score,funding_gap\n", "no rows"),
    ],
)
def test_a_bad_header_is_refused(tmp_path, shelf, capsys, text, message):
    with pytest.raises(CommandError):
        call_command("import_needs", write(tmp_path, text))
    assert message in capsys.readouterr().err
    assert not Need.objects.exists()


def test_a_missing_or_binary_file_is_refused(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_needs", str(tmp_path / "nope.csv"))
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"\xff\xfe\xfa\x00\x81")
    with pytest.raises(CommandError, match="not a UTF-8 text file"):
        call_command("import_needs", str(binary))


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("12500", 1_250_000),
        ("12,500.00", 1_250_000),
        ("$12500", 1_250_000),
        ("$ 1,234,567.8", 123_456_780),
        ("0.01", 1),
        ("0", 0),
    ],
)
def test_dollars_are_read_exactly(text, cents):
    assert parse_dollars(text) == cents
