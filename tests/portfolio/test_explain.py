"""Explanations: the deterministic template, the rules a model's sentence is held to, and
the Explainer's fallbacks (the model-backed explainer against a fake server is
test_explain_model.py)."""

import dataclasses
import threading

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from distributions.models import Distribution
from needs.models import Need
from portfolio.explain import (
    GARBAGE,
    MISSING_SLOT,
    NOT_ASKED,
    NOT_ONE_SENTENCE,
    STALE,
    WRONG_NUMBER,
    AllocationFacts,
    CharityFacts,
    Explainer,
    Frame,
    check_frame,
    fact_lines,
    get_explainer,
    template_frame,
)
from portfolio.explain import template_sentence as sentence
from portfolio.services import distribute_funds
from tests.factories import NeedFactory
from tests.portfolio.scenario import NOW, WEEK, charity, donor, paid

# Winter coats: the largest of three needs in Springfield, VT; this week's gifts give it
# $620 of its $12,500 gap.
COATS = CharityFacts(charity_id=1, name="Coat Drive", place="Springfield, VT", urgency=90,
                     gap_cents=1_250_000, rank=1, charities=3, reported_gap_cents=1_250_000,
                     need="Winter coats for 40 children.", need_category="Children & youth",
                     week_cents=62_000)  # fmt: skip


def test_the_template_gives_the_share_need_urgency_ranking_and_what_the_week_covers():
    assert sentence(AllocationFacts(COATS, 420, 1000, 42)) == (
        '42% of your $10.00 goes to "Winter coats for 40 children", urgency 90/100 '
        "(critical); it has the largest need of the 3 charities in Springfield, VT, and "
        "this week's gifts cover $620 of its $12,500 gap (5%)."
    )


def test_the_template_never_repeats_the_charitys_name_or_the_rows_amount():
    # Both are printed beside the sentence on every page that shows it.
    text = sentence(AllocationFacts(COATS, 437, 1000, 44))
    assert "Coat Drive" not in text
    assert "$4.37" not in text


@pytest.mark.parametrize(
    ("change", "amount", "paid", "percent", "expected"),
    [
        # no line from the charity: its most urgent need's category
        (
            {"need": "", "rank": 2},
            1,
            1000,
            0,
            "Less than 1% of your $10.00 goes to its children & youth need, urgency 90/100 "
            "(critical); it has the 2nd largest need of the 3 charities in Springfield, VT, "
            "and this week's gifts cover $620 of its $12,500 gap (5%).",
        ),
        # the only charity of the city, a whole gift
        (
            {"need": "", "need_category": "Other", "charities": 1, "urgency": 15},
            1000,
            1000,
            100,
            "All of your $10.00 goes to its need, urgency 15/100 (low); it is the only "
            "charity with a current need in Springfield, VT, and this week's gifts cover "
            "$620 of its $12,500 gap (5%).",
        ),
        # a late rank among many; this week's gifts are a sliver of the gap
        (
            {"rank": 11, "charities": 12, "week_cents": 1},
            995,
            1000,
            99,
            '99% of your $10.00 goes to "Winter coats for 40 children", urgency 90/100 '
            "(critical); it has the 11th largest need of the 12 charities in Springfield, "
            "VT, and this week's gifts cover $0.01 of its $12,500 gap (less than 1%).",
        ),
        # this week's gifts close the gap, and more: every gap in the city is met
        (
            {"gap_cents": 50_000, "week_cents": 62_050},
            420,
            1000,
            42,
            '42% of your $10.00 goes to "Winter coats for 40 children", urgency 90/100 '
            "(critical); it has the largest need of the 3 charities in Springfield, VT, and "
            "this week's gifts, $620.50, cover all of its $500 gap, and every gap in "
            "Springfield, VT is met, so the rest is shared by need.",
        ),
        # every gap was met before this week: shared by need
        (
            {"gap_cents": 0, "reported_gap_cents": 1_000},
            420,
            1000,
            42,
            '42% of your $10.00 goes to "Winter coats for 40 children", urgency 90/100 '
            "(critical); it has the largest need of the 3 charities in Springfield, VT, and "
            "its $10 gap was already met, as is every gap in Springfield, VT, so this week's "
            "$620 is shared by need.",
        ),
    ],
)
def test_the_template_handles_every_edge(change, amount, paid, percent, expected):
    facts = dataclasses.replace(COATS, **change)
    assert sentence(AllocationFacts(facts, amount, paid, percent)) == expected


@pytest.mark.django_db
def test_the_run_names_the_most_urgent_need_in_the_charitys_own_words():
    shelf = charity(name="Shelf", urgency=40, gap=500_000)
    Need.objects.filter(charity=shelf).update(description="Rent for the pantry")
    NeedFactory(charity=shelf, category="housing", urgency_score=85, funding_gap_cents=200_000,
                description="Beds for the night shelter", last_updated=NOW)  # fmt: skip
    paid(donor())
    distribute_funds(WEEK, now=NOW)
    reason = Distribution.objects.get().reason
    assert reason.startswith(
        'All of your $10.00 goes to "Beds for the night shelter", urgency 85/100 (critical);'
    )
    assert "Rent for the pantry" not in reason
    # The gap is the charity's: both needs' ($5,000 + $2,000).
    assert "this week's gifts cover $10 of its $7,000 gap (less than 1%)." in reason


@pytest.mark.django_db
def test_a_more_urgent_need_without_a_line_is_named_by_its_category():
    shelf = charity(name="Shelf", urgency=40, gap=500_000)
    Need.objects.filter(charity=shelf).update(description="Rent for the pantry")
    NeedFactory(charity=shelf, category="housing", urgency_score=85, funding_gap_cents=200_000,
                last_updated=NOW)  # fmt: skip
    paid(donor())
    distribute_funds(WEEK, now=NOW)
    assert Distribution.objects.get().reason.startswith(
        "All of your $10.00 goes to its housing & shelter need, urgency 85/100 (critical);"
    )


# --- the rules a model's sentence is held to --------------------------------------------

GOOD = (
    "{share} of your {amount} answers a critical need (urgency 90/100) in Springfield, VT: "
    "this week's $620 is 5% of its $12,500 gap, the 1st of 3."
)


def test_an_answer_that_keeps_the_rules_becomes_a_frame_with_the_donors_slots():
    frame = check_frame(GOOD, COATS)
    assert isinstance(frame, Frame) and frame.by_model
    assert frame.fill(share="42%", amount="$10.00") == GOOD.replace("{share}", "42%").replace(
        "{amount}", "$10.00"
    )


def test_quotes_around_the_whole_answer_and_extra_spaces_are_dropped():
    frame = check_frame(f'  "{GOOD}"\n', COATS)
    assert isinstance(frame, Frame) and frame.text == GOOD


def test_numbers_in_the_charitys_own_words_may_be_quoted():
    text = '{share} of your {amount} buys "Winter coats for 40 children" (urgency 90/100).'
    assert isinstance(check_frame(text, COATS), Frame)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{share} of your {amount} meets a $12,501 gap.", WRONG_NUMBER),
        ("{share} of your {amount} meets a $12,500.00 gap.", WRONG_NUMBER),  # not as given
        ("{share} of your {amount} meets a 12,500 dollar gap.", WRONG_NUMBER),
        ("{share} of your {amount} meets a need of urgency 90.", WRONG_NUMBER),  # not 90/100
        ("{share} of your {amount} is the 2nd largest need.", WRONG_NUMBER),  # it is the 1st
        ("{share} of your {amount} helps two of the charities.", WRONG_NUMBER),  # in words
        ("{share} of your {amount} helps for half a year.", WRONG_NUMBER),
        ("{share} of your {amount} helps in 2026.", WRONG_NUMBER),
        ("Your gift meets a critical need in Springfield, VT.", MISSING_SLOT),
        ("{share} of your gift meets a critical need.", MISSING_SLOT),
        ("{share} of your {amount} and {amount} meet a critical need.", MISSING_SLOT),
        ("{share} of your {amount} goes to {charity}.", MISSING_SLOT),
        ("{share} of your {amount} goes to {{need}}.", MISSING_SLOT),
        ("{share} of your {amount} helps. It is a critical need.", NOT_ONE_SENTENCE),
        ("{share} of your {amount} helps a critical need", NOT_ONE_SENTENCE),  # no full stop
        ("{share} of your {amount} helps" + " a lot" * 80 + ".", NOT_ONE_SENTENCE),
        ("", GARBAGE),
        ("   ", GARBAGE),
        ("... 12,500 !!", GARBAGE),  # not a letter in it
        (None, GARBAGE),
        (42, GARBAGE),
    ],
)
def test_an_answer_that_breaks_a_rule_is_refused_with_the_reason(text, reason):
    assert check_frame(text, COATS) == reason


def test_a_place_with_a_full_stop_in_its_name_is_still_one_sentence():
    facts = dataclasses.replace(COATS, place="St. Albans, VT")
    assert isinstance(check_frame("{share} of your {amount} helps St. Albans, VT.", facts), Frame)


def test_the_facts_the_model_gets_are_written_in_the_units_the_rules_check():
    assert dict(fact_lines(COATS)) == {
        "place": "Springfield, VT",
        "the need, in the charity's own words": "Winter coats for 40 children",
        "urgency": "90/100",
        "urgency in words": "critical",
        "its funding gap before this week's gifts": "$12,500",
        "this week's gifts to it from every donor in the place": "$620",
        "the part of its gap this week's gifts cover": "5%",
        "its rank by need (urgency x gap) in the place": "1st of 3",
        "charities with a current need in the place": "3",
    }
    assert "Coat Drive" not in repr(fact_lines(COATS))  # the name is printed beside


facts_strategy = st.builds(
    CharityFacts,
    charity_id=st.integers(1, 10**6),
    name=st.text(max_size=40),
    place=st.sampled_from(["Springfield, VT", "St. Albans, VT", "Casper, WY"]),
    urgency=st.integers(1, 100),
    gap_cents=st.integers(0, 10**11),
    rank=st.integers(1, 40),
    charities=st.integers(1, 40),
    reported_gap_cents=st.integers(1, 10**11),
    need=st.text(
        st.characters(blacklist_categories=["Cs"], blacklist_characters="{}"), max_size=200
    ),
    need_category=st.sampled_from(["Food", "Housing & shelter", "Other", ""]),
    week_cents=st.integers(1, 10**9),
)


@given(facts=facts_strategy)
# A one-character line ("3") once took the digits out of "$2,373.33", leaving "$2,7. gap":
# a sentence end the template never wrote.
@example(
    facts=CharityFacts(
        1,
        "",
        "Springfield, VT",
        1,
        237333,
        1,
        1,
        reported_gap_cents=1,
        need="3",
        need_category="Food",
        week_cents=1,
    )
)
def test_the_template_keeps_every_rule_a_model_is_held_to(facts):
    if facts.rank > facts.charities:
        facts = dataclasses.replace(facts, rank=facts.charities)
    frame = template_frame(facts)
    assert check_frame(frame.text, facts) == Frame(frame.parts, by_model=True)


# --- the Explainer's fallbacks ----------------------------------------------------------


def test_the_default_explainer_is_the_template(settings):
    settings.EXPLAINER = "template"
    explainer = get_explainer()
    assert not explainer.asks_model
    assert explainer(COATS, 420, 1000, 42) == sentence(AllocationFacts(COATS, 420, 1000, 42))
    assert explainer.frame(COATS) == template_frame(COATS)
    assert explainer.tally() == (0, {})


def frame_backend(facts):
    return GOOD


def test_a_plugged_backend_is_asked_once_per_charity_and_its_frame_filled_per_row(settings):
    settings.EXPLAINER = "tests.portfolio.test_explain.frame_backend"
    explainer = get_explainer()
    explainer.prepare([COATS])
    frame = explainer.frame(COATS)
    assert explainer(COATS, 420, 1000, 42) == frame.fill(share="42%", amount="$10.00")
    assert explainer(COATS, 1000, 1000, 100).startswith("All of your $10.00 answers")
    assert explainer.tally() == (1, {})


def test_an_explainer_that_cannot_be_imported_means_the_template(settings):
    settings.EXPLAINER = "nowhere.to.be.found"
    explainer = get_explainer()
    assert not explainer.asks_model
    assert explainer(COATS, 420, 1000, 42) == sentence(AllocationFacts(COATS, 420, 1000, 42))


def test_a_backend_asked_with_other_facts_is_stale_and_one_never_asked_too():
    explainer = Explainer(frame_backend)
    explainer.prepare([COATS])
    moved = dataclasses.replace(COATS, week_cents=COATS.week_cents + 1)
    other = dataclasses.replace(COATS, charity_id=2)
    assert explainer.frame(moved) == template_frame(moved)
    assert explainer.frame(other) == template_frame(other)
    assert explainer.tally() == (0, {STALE: 2})


def test_a_place_past_its_time_budget_asks_nothing_more():
    asked = []
    explainer = Explainer(lambda facts: asked.append(facts) or GOOD, budget=0)
    explainer.prepare([COATS])
    assert asked == []
    assert explainer.frame(COATS) == template_frame(COATS)
    assert explainer.tally() == (0, {NOT_ASKED: 1})


def test_a_raising_backend_opens_the_breaker_and_the_rest_is_not_asked():
    asked = []

    def broken(facts):
        asked.append(facts)
        raise RuntimeError("model unavailable")

    explainer = Explainer(broken)
    second = dataclasses.replace(COATS, charity_id=2)
    explainer.prepare([COATS, second])
    assert len(asked) == 1
    assert not explainer.asks_model
    assert [explainer.frame(f) for f in (COATS, second)] == [
        template_frame(COATS),
        template_frame(second),
    ]
    assert explainer.tally() == (0, {"error": 1, NOT_ASKED: 1})


def test_a_question_cut_short_by_the_places_budget_does_not_open_the_breaker():
    release = threading.Event()

    def hung(facts):
        release.wait(10)
        return GOOD

    explainer = Explainer(hung, timeout=5, budget=0.2)
    second = dataclasses.replace(COATS, charity_id=2)
    try:
        explainer.prepare([COATS, second])
        assert explainer.asks_model  # the model was not at fault: the next place asks
        assert [explainer.frame(f) for f in (COATS, second)] == [
            template_frame(COATS),
            template_frame(second),
        ]
        assert explainer.tally() == (0, {"timeout": 1, NOT_ASKED: 1})
    finally:
        release.set()
        explainer.close()
