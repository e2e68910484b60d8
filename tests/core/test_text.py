"""core.text: a count with its noun in the right number."""

import pytest

from core.text import counted, plural


@pytest.mark.parametrize(
    ("noun", "expected"),
    [
        ("charity", "charities"),
        ("city", "cities"),
        ("day", "days"),
        ("row", "rows"),
        ("pass", "passes"),
        ("person", "people"),
        ("distribution row", "distribution rows"),
        ("held contribution", "held contributions"),
        ("failed Stripe event", "failed Stripe events"),
    ],
)
def test_plural(noun, expected):
    assert plural(noun) == expected


def test_counted_says_one_in_the_singular_and_every_other_count_in_the_plural():
    assert counted(1, "charity") == "1 charity"
    assert counted(0, "charity") == "0 charities"
    assert counted(2, "charity") == "2 charities"
    assert counted(-1, "row") == "-1 rows"
    assert counted(3, "person", "folks") == "3 folks"
