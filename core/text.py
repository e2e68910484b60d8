"""Counts in words: "1 charity", "2 charities". Every sentence the site or a command
prints with a count goes through counted() (templates use Django's |pluralize), so no
page or command says "1 charities" (tests/web/test_plurals.py reads them all)."""

from __future__ import annotations

VOWELS = "aeiou"
IRREGULAR = {"person": "people", "child": "children"}


def plural(noun: str) -> str:
    """The plural of a noun or a phrase ending in one: the last word changes
    ("distribution row" -> "distribution rows"). charity -> charities, day -> days,
    process -> processes, person -> people."""
    head, _, word = noun.rpartition(" ")
    if word in IRREGULAR:
        word = IRREGULAR[word]
    elif word.endswith("y") and len(word) > 1 and word[-2] not in VOWELS:
        word = word[:-1] + "ies"
    elif word.endswith(("s", "x", "z", "ch", "sh")):
        word += "es"
    else:
        word += "s"
    return f"{head} {word}" if head else word


def counted(n: int, noun: str, plural_noun: str | None = None) -> str:
    """n and the noun in the right number: counted(1, "charity") -> "1 charity",
    counted(3, "charity") -> "3 charities", counted(0, "row") -> "0 rows"."""
    return f"{n} {noun if n == 1 else (plural_noun or plural(noun))}"
