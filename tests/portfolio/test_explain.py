"""Explanations: the deterministic template and the pluggable explainer's fallback."""

import dataclasses
import threading

import pytest

from distributions.models import Distribution
from needs.models import Need
from portfolio.explain import AllocationFacts, CharityFacts, Explainer, get_explainer
from portfolio.explain import template_sentence as sentence
from portfolio.services import distribute_funds
from tests.factories import NeedFactory
from tests.portfolio.scenario import NOW, WEEK, charity, donor, paid

FOOD = CharityFacts(charity_id=1, name="Food Shelf", place="Springfield, VT", urgency=90,
                    gap_cents=1_250_000, rank=1, charities=3)  # fmt: skip

calls = []
release = threading.Event()


def slow_explainer(facts):
    calls.append(facts)
    release.wait(5)
    return "too late"


def raising_explainer(facts):
    calls.append(facts)
    raise RuntimeError("model unavailable")


def number_explainer(facts):
    calls.append(facts)
    return 42


class ModelExplainer:
    def __call__(self, facts):
        return f"Model: {facts.charity.name} got {facts.amount_cents} cents."


@pytest.fixture(autouse=True)
def _reset():
    calls.clear()
    release.clear()
    yield
    release.set()


def test_the_template_says_share_amount_urgency_gap_and_rank_in_plain_words():
    assert sentence(AllocationFacts(FOOD, 420, 1000)) == (
        "Food Shelf got $4.20, 42% of your $10.00: urgency 90/100 and a $12,500 funding "
        "gap, the largest need in Springfield, VT."
    )


def test_the_template_quotes_the_charitys_own_line_about_its_need():
    coats = dataclasses.replace(FOOD, need="Winter coats for 40 children.")
    assert sentence(AllocationFacts(coats, 420, 1000)) == (
        'Food Shelf got $4.20, 42% of your $10.00: urgency 90/100 for "Winter coats for 40 '
        'children" and a $12,500 funding gap, the largest need in Springfield, VT.'
    )


@pytest.mark.django_db
def test_the_run_quotes_the_most_urgent_described_need():
    shelf = charity(name="Shelf", urgency=40, gap=500_000)
    Need.objects.filter(charity=shelf).update(description="Rent for the pantry")
    NeedFactory(charity=shelf, category="housing", urgency_score=85, funding_gap_cents=200_000,
                description="Beds for the night shelter", last_updated=NOW)  # fmt: skip
    paid(donor())
    distribute_funds(WEEK, now=NOW)
    reason = Distribution.objects.get().reason
    assert 'urgency 85/100 for "Beds for the night shelter"' in reason
    assert "Rent for the pantry" not in reason


@pytest.mark.parametrize(
    ("amount", "paid", "rank", "charities", "expected"),
    [
        (
            1,
            1000,
            2,
            3,
            "Food Shelf got $0.01, less than 1% of your $10.00: urgency 90/100 "
            "and a $12,500 funding gap, the 2nd largest need of 3 in Springfield, VT.",
        ),
        (
            1000,
            1000,
            1,
            1,
            "Food Shelf got $10.00, all of your $10.00: urgency 90/100 and a "
            "$12,500 funding gap, the only charity with a current need in "
            "Springfield, VT.",
        ),
        (
            995,
            1000,
            11,
            12,
            "Food Shelf got $9.95, 99% of your $10.00: urgency 90/100 and a "
            "$12,500 funding gap, the 11th largest need of 12 in Springfield, VT.",
        ),
    ],
)
def test_the_template_handles_tiny_whole_and_late_ranked_shares(
    amount, paid, rank, charities, expected
):
    facts = CharityFacts(1, "Food Shelf", "Springfield, VT", 90, 1_250_000, rank, charities)
    assert sentence(AllocationFacts(facts, amount, paid)) == expected


def test_the_default_explainer_is_the_template(settings):
    settings.EXPLAINER = "template"
    assert get_explainer()(FOOD, 420, 1000) == sentence(AllocationFacts(FOOD, 420, 1000))


def test_a_plugged_explainer_is_used_when_it_answers(settings):
    settings.EXPLAINER = "tests.portfolio.test_explain.ModelExplainer"
    assert get_explainer()(FOOD, 420, 1000) == "Model: Food Shelf got 420 cents."


@pytest.mark.parametrize(
    "path",
    [
        "tests.portfolio.test_explain.slow_explainer",
        "tests.portfolio.test_explain.raising_explainer",
        "tests.portfolio.test_explain.number_explainer",
    ],
)
def test_a_slow_failing_or_nonsense_explainer_falls_back_to_the_template_and_is_dropped(
    settings, path
):
    settings.EXPLAINER = path
    settings.EXPLAINER_TIMEOUT = 0.2
    explainer = get_explainer()

    first = explainer(FOOD, 420, 1000)
    second = explainer(FOOD, 300, 1000)

    assert first == sentence(AllocationFacts(FOOD, 420, 1000))
    assert second == sentence(AllocationFacts(FOOD, 300, 1000))
    assert len(calls) == 1  # not asked again after failing once
    explainer.close()


def test_an_explainer_that_cannot_be_imported_means_the_template(settings):
    settings.EXPLAINER = "nowhere.to.be.found"
    assert get_explainer()(FOOD, 420, 1000) == sentence(AllocationFacts(FOOD, 420, 1000))


def test_explanations_are_cached_per_distinct_allocation():
    seen = []
    explainer = Explainer(lambda facts: seen.append(facts) or "Because.")
    for _ in range(3):
        assert explainer(FOOD, 420, 1000) == "Because."
    assert len(seen) == 1


@pytest.mark.django_db
def test_the_run_writes_the_template_sentence_when_the_explainer_raises(settings):
    settings.DEMO_BILLING = False
    settings.EXPLAINER = "tests.portfolio.test_explain.raising_explainer"
    charity(name="Food Shelf", urgency=90, gap=1_250_000)
    paid(donor(), 1000)

    distribute_funds(WEEK, now=NOW)

    assert Distribution.objects.get().reason == (
        "Food Shelf got $10.00, all of your $10.00: urgency 90/100 and a $12,500 funding "
        "gap, the only charity with a current need in Springfield, VT."
    )
