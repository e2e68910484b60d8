"""One plain sentence per allocation, from the numbers (DESIGN.md, "Explanations").

    "Hometown Food Shelf got $4.20, 42% of your $10.00: urgency 90/100 and a $12,500
    funding gap, the largest need in Springfield, VT."

The template is the default and is deterministic. settings.EXPLAINER may name (dotted
path) a model-backed explainer instead: a callable, or a class whose instances are
callables, taking an AllocationFacts and returning a sentence. Whatever it does, the
donor still gets a sentence: an exception, a timeout (EXPLAINER_TIMEOUT seconds), or an
answer that is not a short piece of text all fall back to the template, and after the
first failure the explainer is not asked again for the rest of the run (a broken model
must not cost a timeout per donor).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.utils.module_loading import import_string

from core.templatetags.money import format_cents, percent_text

logger = logging.getLogger(__name__)

MAX_SENTENCE_LENGTH = 500


@dataclass(frozen=True, slots=True)
class CharityFacts:
    """What a city run knows about one charity; the same for every donor in the city."""

    charity_id: int
    name: str
    place: str  # "Springfield, VT"
    urgency: int  # highest urgency among its current needs, 0..100
    gap_cents: int  # what is left of the funding gaps of its current needs
    rank: int  # 1 = the largest need (weight) in the city
    charities: int  # how many charities took part in the city
    reported_gap_cents: int = 0  # the gaps as reported (what is left is part of it)
    need: str = ""  # the charity's own line about its most pressing need, if it wrote one


@dataclass(frozen=True, slots=True)
class AllocationFacts:
    charity: CharityFacts
    amount_cents: int  # what this subscription gave this charity
    paid_cents: int  # what this subscription paid into the pool
    # This row's share of paid_cents in whole percent, rounded with the subscription's
    # other rows so that they add up to 100 (core.templatetags.money.percentages); None:
    # rounded on its own.
    percent: int | None = None


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _percent(part: int, whole: int) -> str:
    if whole <= 0:
        return "0%"
    if part >= whole:
        return "all"
    # Rounded half up in integers; "less than 1%" rather than a misleading "0%".
    pct = (200 * part + whole) // (2 * whole)
    if pct == 0:
        return "less than 1%"
    return f"{min(pct, 99)}%"


def _standing(c: CharityFacts) -> str:
    if c.charities == 1:
        return f"the only charity with a current need in {c.place}"
    if c.rank == 1:
        return f"the largest need in {c.place}"
    return f"the {_ordinal(c.rank)} largest need of {c.charities} in {c.place}"


def _money(cents: int) -> str:
    """$12,500 for whole dollars, $9.90 otherwise: never rounded away."""
    return f"${cents // 100:,}" if cents % 100 == 0 else format_cents(cents)


def _urgency(c: CharityFacts) -> str:
    """'urgency 90/100', quoting the charity's own words about its need when it wrote
    them: 'urgency 90/100 for "Winter coats for 40 children"'."""
    line = " ".join(c.need.split()).rstrip(".")
    return f'urgency {c.urgency}/100 for "{line}"' if line else f"urgency {c.urgency}/100"


@lru_cache(maxsize=4096)
def _charity_clause(c: CharityFacts) -> str:
    """The part of the sentence that is the same for every donor of a city."""
    if c.gap_cents == 0 and c.reported_gap_cents > 0:
        return (
            f"{_urgency(c)} and a {_money(c.reported_gap_cents)} funding gap, "
            f"already met; every gap in {c.place} is met, so what is left is shared by need."
        )
    return f"{_urgency(c)} and a {_money(c.gap_cents)} funding gap, {_standing(c)}."


def template_sentence(facts: AllocationFacts) -> str:
    if facts.percent is None:
        share = _percent(facts.amount_cents, facts.paid_cents)
    else:
        share = percent_text(facts.percent, facts.amount_cents, facts.paid_cents)
    return (
        f"{facts.charity.name} got {format_cents(facts.amount_cents)}, {share} of your "
        f"{format_cents(facts.paid_cents)}: {_charity_clause(facts.charity)}"
    )


class Explainer:
    """Callable (charity facts, amount, paid, percent) -> sentence, cached per distinct
    input.

    One instance serves one run (or one city): the cache makes 1,000,000 rows cost a few
    thousand sentences, since most donors give round amounts.
    """

    def __init__(self, backend=None, *, timeout: float | None = None):
        self.backend = backend
        self.timeout = settings.EXPLAINER_TIMEOUT if timeout is None else timeout
        self._cache: dict[tuple[int, int, int, int | None], str] = {}
        self._pool: ThreadPoolExecutor | None = None

    def __call__(
        self, charity: CharityFacts, amount_cents: int, paid_cents: int, percent=None
    ) -> str:
        key = (charity.charity_id, amount_cents, paid_cents, percent)
        sentence = self._cache.get(key)
        if sentence is None:
            facts = AllocationFacts(charity, amount_cents, paid_cents, percent)
            sentence = self._ask_backend(facts) if self.backend else None
            if sentence is None:
                sentence = template_sentence(facts)
            self._cache[key] = sentence
        return sentence

    def _ask_backend(self, facts: AllocationFacts) -> str | None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="explainer")
        future = self._pool.submit(self.backend, facts)
        try:
            answer = future.result(timeout=self.timeout)
        except FutureTimeout:
            self._give_up(f"no answer within {self.timeout} s")
            return None
        except Exception as exc:
            self._give_up(f"{type(exc).__name__}: {exc}")
            return None
        if not isinstance(answer, str) or not answer.strip():
            self._give_up(f"answered {type(answer).__name__}, not a sentence")
            return None
        answer = " ".join(answer.split())
        if len(answer) > MAX_SENTENCE_LENGTH:
            self._give_up(f"answered {len(answer)} characters")
            return None
        return answer

    def _give_up(self, why: str) -> None:
        logger.warning("Explainer %r failed (%s); using the template from now on.",
                       self.backend, why)  # fmt: skip
        self.backend = None
        if self._pool is not None:
            # A hung call keeps its thread; nobody waits for it.
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def clear_cache(self) -> None:
        """Forget the sentences (a city's are of no use to the next one): keeps a run's
        memory flat however many cities it goes through."""
        self._cache.clear()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def get_explainer() -> Explainer:
    """The explainer settings.EXPLAINER names ("" or "template": the template)."""
    path = (settings.EXPLAINER or "").strip()
    if path in ("", "template"):
        return Explainer()
    try:
        backend = import_string(path)
        if isinstance(backend, type):
            backend = backend()
    except Exception:
        logger.exception("EXPLAINER=%r cannot be loaded; using the template.", path)
        return Explainer()
    return Explainer(backend)
