"""One plain sentence per allocation, from the numbers (DESIGN.md, "Explanations").

Every page that shows the sentence (report, dashboard, weekly email, history CSV) prints
the charity's name and the row's amount beside it, so the sentence says neither: it says
why this charity, and what part of the donor's gift that is.

    42% of your $10.00 goes to "Winter coats for 40 children", urgency 90/100
    (critical); it has the largest need of the 3 charities in Springfield, VT, and this
    week's gifts cover $620 of its $12,500 gap (5%).

A sentence is built in two steps. Once per week, place and charity, a *frame*: the
sentence with two slots, {share} (the row's part of the donor's gift: "42%", "all",
"less than 1%", controlled rounding: core.templatetags.money.percentages) and {amount}
(the donor's gift that week, net: "$10.00"). Then once per row the slots are filled,
which is string joining: a million rows cost a few thousand distinct fills (cached).

The frame comes from the deterministic template (the default), or from a model
(settings.EXPLAINER: "openai" for any OpenAI-compatible chat-completions server,
portfolio.explain_chat; or a dotted path to a callable taking CharityFacts and answering
a frame). A model's frame is used only if it keeps the rules of `check_frame` (every
number one of the facts as given, both slots exactly once, one sentence of bounded
length); otherwise, and on a timeout or an error, the template's frame is used and the
reason counted (Explainer.tally: RunCity.explained_by_model and explainer_fallbacks).

The model is asked by `Explainer.prepare`, which the engine calls before a place's
transaction (no ledger row is locked while a model thinks); inside the transaction the
plan is worked out again and a model frame is used only for a charity whose facts are
exactly those the model was given ("stale" otherwise). After a timeout or an error
(HTTP error, connection refused) the model is not asked again in that run: the breaker
is this Explainer's and, keyed by the run, the cache's (so a run's Celery city tasks
share it); a rejected answer only costs its own charity the model's sentence.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from functools import lru_cache
from urllib.error import URLError

from django.conf import settings
from django.core.cache import cache
from django.utils.module_loading import import_string

from core.templatetags.money import format_cents, percent_text
from needs.models import urgency_words

logger = logging.getLogger(__name__)

# A frame's longest accepted length, slots written as such: the template's longest (a
# 200-character need line) fits with room to spare.
MAX_SENTENCE_LENGTH = 400
SLOTS = ("share", "amount")
SLOT_RE = re.compile(r"\{(share|amount)\}")
PERCENT_WORDS = [f"{p}%" for p in range(101)]  # percent_text of a share from 1% to 100%
BREAKER_SECONDS = 3600  # a run's breaker outlives any run; a new invocation resets it

# Why the template's sentence was used for a charity although a model is configured.
WRONG_NUMBER = "wrong_number"  # a number that is not one of the facts as given
MISSING_SLOT = "missing_slot"  # {share} or {amount} not exactly once, or another brace
NOT_ONE_SENTENCE = "not_one_sentence"  # empty, several sentences, or too long
GARBAGE = "garbage"  # the answer could not be read (not JSON, no text)
TIMEOUT = "timeout"  # no answer within EXPLAINER_TIMEOUT (opens the breaker)
ERROR = "error"  # HTTP error, connection refused, the backend raised (opens the breaker)
STALE = "stale"  # the place's figures changed between asking and giving
NOT_ASKED = "not_asked"  # the breaker was open or the place's time budget spent
FALLBACK_REASONS = (WRONG_NUMBER, MISSING_SLOT, NOT_ONE_SENTENCE, GARBAGE, TIMEOUT, ERROR,
                    STALE, NOT_ASKED)  # fmt: skip
MODEL = "model"


class ExplainerGarbage(Exception):
    """The backend answered something that is not a sentence (not JSON, no text)."""


@dataclass(frozen=True, slots=True)
class CharityFacts:
    """What a pass over a place knows about one charity; the same for every donor there."""

    charity_id: int
    name: str
    place: str  # "Springfield, VT"
    urgency: int  # highest urgency among its current needs, 0..100
    gap_cents: int  # what is left of the funding gaps of its current needs, before this pass
    rank: int  # 1 = the largest need (urgency x remaining gap) in the place
    charities: int  # how many charities took part in the place
    reported_gap_cents: int = 0  # the gaps as reported (what is left is part of it)
    need: str = ""  # the charity's own line about the need it names (its most urgent)
    need_category: str = ""  # that need's category, in words ("Food"), for when no line
    week_cents: int = 0  # what this pass gives the charity, from every donor of the place


@dataclass(frozen=True, slots=True)
class AllocationFacts:
    charity: CharityFacts
    amount_cents: int  # what this subscription gave this charity
    paid_cents: int  # what this subscription paid into the pool
    # This row's share of paid_cents in whole percent, rounded with the subscription's
    # other rows so that they add up to 100 (core.templatetags.money.percentages); None:
    # rounded on its own.
    percent: int | None = None


@dataclass(frozen=True, slots=True)
class Frame:
    """A sentence with slots: parts alternate literal text (even indexes) and slot names
    (odd indexes), so a charity's words are never read as a slot."""

    parts: tuple[str, ...]
    by_model: bool = False

    def fill(self, *, share: str, amount: str) -> str:
        parts = self.parts
        if len(parts) == 5 and parts[1] == "share" and parts[3] == "amount":  # the template's
            text = f"{parts[0]}{share}{parts[2]}{amount}{parts[4]}"
        else:
            values = {"share": share, "amount": amount}
            text = "".join(values[p] if i % 2 else p for i, p in enumerate(parts))
        first = text[:1]
        capital = first.upper()
        return text if capital == first else capital + text[1:]

    @property
    def text(self) -> str:
        """As a model writes it, slots in braces."""
        return "".join("{" + p + "}" if i % 2 else p for i, p in enumerate(self.parts))


# --- words --------------------------------------------------------------------------------


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _percent(part: int, whole: int) -> str:
    """What part of a gap some money covers: "5%", "less than 1%", "all"."""
    if whole <= 0 or part >= whole:
        return "all"
    # Rounded half up in integers; never "100%" for a gap not quite covered.
    pct = (200 * part + whole) // (2 * whole)
    if pct == 0:
        return "less than 1%"
    return f"{min(pct, 99)}%"


def _money(cents: int) -> str:
    """$12,500 for whole dollars, $9.90 otherwise: never rounded away."""
    return f"${cents // 100:,}" if cents % 100 == 0 else format_cents(cents)


def _need_line(c: CharityFacts) -> str:
    return " ".join(c.need.split()).rstrip(".")


def _need_words(c: CharityFacts) -> str:
    """The need as the sentence names it: the charity's own line, quoted, else its
    category ("its food need")."""
    line = _need_line(c)
    if line:
        return f'"{line}"'
    category = c.need_category.strip().lower()
    return f"its {category} need" if category and category != "other" else "its need"


def _standing(c: CharityFacts) -> str:
    if c.charities <= 1:
        return f"it is the only charity with a current need in {c.place}"
    if c.rank == 1:
        return f"it has the largest need of the {c.charities} charities in {c.place}"
    return (
        f"it has the {_ordinal(c.rank)} largest need of the {c.charities} charities in {c.place}"
    )


def _coverage(c: CharityFacts) -> str:
    week, gap = c.week_cents, c.gap_cents
    if gap == 0:
        return (
            f"its {_money(c.reported_gap_cents)} gap was already met, as is every gap in "
            f"{c.place}, so this week's {_money(week)} is shared by need"
        )
    if week <= 0:
        return f"its gap is {_money(gap)}"
    if week < gap:
        covered = _percent(week, gap)
        return f"this week's gifts cover {_money(week)} of its {_money(gap)} gap ({covered})"
    closed = f"this week's gifts, {_money(week)}, cover all of its {_money(gap)} gap"
    if week > gap:
        closed += f", and every gap in {c.place} is met, so the rest is shared by need"
    return closed


@lru_cache(maxsize=8192)
def template_frame(c: CharityFacts) -> Frame:
    """The deterministic sentence for a charity, with the donor's slots first."""
    rest = (
        f" goes to {_need_words(c)}, urgency {c.urgency}/100 ({urgency_words(c.urgency)}); "
        f"{_standing(c)}, and {_coverage(c)}."
    )
    return Frame(("", "share", " of your ", "amount", rest))


def share_text(amount_cents: int, paid_cents: int, percent: int | None) -> str:
    if percent is None:
        return _percent(amount_cents, paid_cents) if paid_cents > 0 else "0%"
    return percent_text(percent, amount_cents, paid_cents)


def template_sentence(facts: AllocationFacts) -> str:
    share = share_text(facts.amount_cents, facts.paid_cents, facts.percent)
    return template_frame(facts.charity).fill(share=share, amount=format_cents(facts.paid_cents))


# --- what a model is given, and the rules its answer must keep ----------------------------


def fact_lines(c: CharityFacts) -> list[tuple[str, str]]:
    """The facts a model is given about one charity, as (what it is, how it is written).
    The way each is written is its unit: an answer's numbers must be written the same."""
    lines = [("place", c.place)]
    line = _need_line(c)
    if line:
        lines.append(("the need, in the charity's own words", line))
    else:
        lines.append(("the need's category", (c.need_category or "other").lower()))
    lines += [("urgency", f"{c.urgency}/100"), ("urgency in words", urgency_words(c.urgency))]
    if c.gap_cents:
        lines += [
            ("its funding gap before this week's gifts", _money(c.gap_cents)),
            ("this week's gifts to it from every donor in the place", _money(c.week_cents)),
            ("the part of its gap this week's gifts cover", _percent(c.week_cents, c.gap_cents)),
        ]
    else:
        lines += [
            (
                "its funding gap, already met, as is every gap in the place (so this week's "
                "gifts are shared by urgency and reported gap)",
                _money(c.reported_gap_cents),
            ),
            ("this week's gifts to it from every donor in the place", _money(c.week_cents)),
        ]
    if c.charities <= 1:
        lines.append(("its rank by need", "the only charity with a current need in the place"))
    else:
        lines += [
            (
                "its rank by need (urgency x gap) in the place",
                f"{_ordinal(c.rank)} of {c.charities}",
            ),
            ("charities with a current need in the place", str(c.charities)),
        ]
    return lines


# A number as written: "$12,500", "$4.20", "90/100", "5%", "2nd", "3", "40".
NUMBER_RE = re.compile(r"\$?\d+(?:,\d{3})*(?:\.\d+)?(?:%|/100|st\b|nd\b|rd\b|th\b)?")
WORD_RE = re.compile(r"[a-z]+")
# Numbers in words are numbers too ("one" is left out: "one of the..." is how English
# says it, and never a figure).
NUMBER_WORDS = frozenset({
    "zero", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy",
    "eighty", "ninety", "hundred", "hundreds", "thousand", "thousands", "million",
    "millions", "billion", "billions", "dozen", "dozens", "half", "quarter", "twice",
    "double", "triple", "percent", "first", "second", "third", "fourth", "fifth", "sixth",
    "seventh", "eighth", "ninth", "tenth",
})  # fmt: skip
SENTENCE_END_RE = re.compile(r"[.!?](?:\s|$)")


def check_frame(text, c: CharityFacts) -> Frame | str:
    """A model's answer as a Frame, or why it is refused (a FALLBACK_REASONS code).

    The rules, in the order they are checked:
    1. text: a non-empty string with a letter in it (whitespace is collapsed, one pair of
       quotes around the whole is dropped), else GARBAGE;
    2. slots: "{share}" and "{amount}" exactly once each and no other "{" or "}", else
       MISSING_SLOT;
    3. numbers: every number in the text (NUMBER_RE: digits with their "$", thousands
       commas, decimals and a "%", "/100" or ordinal suffix, taken whole) is written
       exactly as some number in the facts' values (fact_lines), and every number word
       (NUMBER_WORDS) appears in the facts' values, else WRONG_NUMBER: "$12,500.00",
       "12500", "90" for "90/100" or "two" are refused;
    4. one sentence: at most MAX_SENTENCE_LENGTH characters, ending with ".", with no ".",
       "!" or "?" followed by a space before the end (the place and the charity's own
       line, which may hold one, are set aside for this), else NOT_ONE_SENTENCE.
    """
    if not isinstance(text, str):
        return GARBAGE
    text = " ".join(text.split())
    if len(text) >= 2 and text[0] == text[-1] == '"' and text.count('"') == 2:
        text = text[1:-1].strip()
    if not re.search(r"[A-Za-z]", text):
        return GARBAGE
    parts = tuple(SLOT_RE.split(text))
    names = parts[1::2]
    literal = "".join(parts[0::2])
    if sorted(names) != sorted(SLOTS) or "{" in literal or "}" in literal:
        return MISSING_SLOT
    values = [value for _, value in fact_lines(c)]
    allowed = {n for value in values for n in NUMBER_RE.findall(value)}
    allowed_words = {w for value in values for w in WORD_RE.findall(value.lower())}
    if any(n not in allowed for n in NUMBER_RE.findall(literal)):
        return WRONG_NUMBER
    if any(w in NUMBER_WORDS and w not in allowed_words for w in WORD_RE.findall(literal.lower())):
        return WRONG_NUMBER
    if len(text) > MAX_SENTENCE_LENGTH or not text.endswith("."):
        return NOT_ONE_SENTENCE
    # The place and the charity's quoted line may hold a full stop of their own ("St.
    # Paul", "Coats. Boots"); only they are taken out (the line with its quotes, so that a
    # short line such as "3" cannot eat the digits of a figure), then no sentence may end.
    body = text[:-1]
    need = _need_line(c)
    quoted = [f"{o}{need}{e}" for o, e in ('""', "“”", "''")] if need else []
    for value in sorted((c.place, *quoted), key=len, reverse=True):
        if value:
            body = body.replace(value, "")
    if SENTENCE_END_RE.search(body):
        return NOT_ONE_SENTENCE
    return Frame(parts, by_model=True)


# --- the explainer a run uses ----------------------------------------------------------------


def breaker_key(run_id: int) -> str:
    return f"portfolio:explainer-breaker:{run_id}"


def _cached(method: str, *args):
    """A cache call that cannot fail a run: the cache only saves questions, so when it is
    down the explainer goes on without it."""
    try:
        return getattr(cache, method)(*args)
    except Exception:
        logger.warning("The cache is unavailable to the explainer", exc_info=True)
        return None


def reset_breaker(run_id: int) -> None:
    """A new invocation of a week's run asks the model afresh."""
    _cached("delete", breaker_key(run_id))


def _timed_out(exc: BaseException) -> bool:
    if isinstance(exc, TimeoutError):
        return True
    return isinstance(exc, URLError) and isinstance(exc.reason, TimeoutError)


class Explainer:
    """Frames per charity and sentences per row, for one run (or one dry run).

    backend: None (the template only), or a callable taking CharityFacts and answering a
    frame's text; with a `cache_id` attribute (a string naming the model and its prompt)
    its accepted answers and refusals are kept in the cache for a week, so a retried
    Celery task or a rerun with the same figures does not ask again.
    """

    def __init__(self, backend=None, *, timeout: float | None = None, budget: float | None = None):
        self.backend = backend
        self.timeout = settings.EXPLAINER_TIMEOUT if timeout is None else timeout
        self.budget = settings.EXPLAINER_BUDGET if budget is None else budget
        self._broken = False
        self._pool: ThreadPoolExecutor | None = None
        self.start_place()

    @property
    def asks_model(self) -> bool:
        return self.backend is not None and not self._broken

    def start_place(self) -> None:
        """Forget the last place: its prepared frames, its sentences, its tally."""
        self._prepared: dict[int, tuple[CharityFacts, Frame | str]] = {}
        self._asked_here = False  # whether prepare ran for this place
        self._sentences: dict[tuple[int, int, str], str] = {}
        self._tally: Counter[str] = Counter()

    clear_cache = start_place

    # -- asking (never while ledger rows are locked) --

    def prepare(self, facts: list[CharityFacts], *, run_id: int | None = None) -> None:
        """Ask the backend for a frame for each charity (those already asked with the
        same facts excepted), within the place's time budget and while the breaker is
        closed. Must be called outside the place's transaction."""
        if self.backend is None:
            return
        self._asked_here = True
        deadline = time.monotonic() + self.budget
        for c in facts:
            known = self._prepared.get(c.charity_id)
            if known is not None and known[0] == c:
                continue
            self._prepared[c.charity_id] = (c, self._ask(c, deadline, run_id))

    def _ask(self, c: CharityFacts, deadline: float, run_id: int | None) -> Frame | str:
        if self._broken or (run_id is not None and _cached("get", breaker_key(run_id))):
            return NOT_ASKED
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return NOT_ASKED
        key = self._cache_key(c)
        if key is not None:
            kept = _cached("get", key)
            if kept is not None:
                return check_frame(kept["text"], c) if "text" in kept else kept["refused"]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="explainer")
        future = self._pool.submit(self.backend, c)
        try:
            answer = future.result(timeout=min(self.timeout, remaining))
        except FutureTimeout:
            if remaining < self.timeout:
                # The place's budget ran out, not the model's time: no breaker, but the
                # hung call keeps its thread, so the next question gets a fresh one.
                self._drop_pool()
                return TIMEOUT
            return self._give_up(TIMEOUT, f"no answer within {self.timeout} s", run_id)
        except ExplainerGarbage as exc:
            frame: Frame | str = GARBAGE
            logger.warning("Explainer answered garbage for charity %s: %s", c.charity_id, exc)
        except Exception as exc:
            reason = TIMEOUT if _timed_out(exc) else ERROR
            return self._give_up(reason, f"{type(exc).__name__}: {exc}", run_id)
        else:
            frame = check_frame(answer, c)
            if isinstance(frame, str):
                logger.info("Explainer's answer for charity %s refused (%s): %r",
                            c.charity_id, frame, answer)  # fmt: skip
        if key is not None:
            kept = {"text": frame.text} if isinstance(frame, Frame) else {"refused": frame}
            _cached("set", key, kept, 8 * 24 * 3600)
        return frame

    def _cache_key(self, c: CharityFacts) -> str | None:
        cache_id = getattr(self.backend, "cache_id", None)
        if not cache_id:
            return None
        payload = json.dumps([cache_id, fact_lines(c)], sort_keys=True)
        return "portfolio:explainer:" + hashlib.sha256(payload.encode()).hexdigest()

    def _give_up(self, reason: str, why: str, run_id: int | None) -> str:
        logger.warning("Explainer %r failed (%s); the template writes the rest of the run.",
                       self.backend, why)  # fmt: skip
        self._broken = True
        if run_id is not None:
            _cached("set", breaker_key(run_id), reason, BREAKER_SECONDS)
        self._drop_pool()
        return reason

    def _drop_pool(self) -> None:
        if self._pool is not None:
            # A hung call keeps its thread (its own socket timeout ends it); nobody waits.
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    # -- using (cheap: inside the transaction, per charity and per row) --

    def frame(self, c: CharityFacts) -> Frame:
        """The frame for a charity of the place, counted in the tally: the model's when it
        was asked with exactly these facts and its answer kept the rules, else the
        template's. Never asks anything."""
        chosen, outcome = self._choose(c)
        if outcome:
            self._tally[outcome] += 1
        return chosen

    def _choose(self, c: CharityFacts) -> tuple[Frame, str]:
        if self.backend is None:
            return template_frame(c), ""
        known = self._prepared.get(c.charity_id)
        if known is None and not self._asked_here:
            return template_frame(c), NOT_ASKED  # the breaker was open, or no asking here
        if known is None or known[0] != c:
            return template_frame(c), STALE
        if isinstance(known[1], Frame):
            return known[1], MODEL
        return template_frame(c), known[1]

    def sentence(self, c: CharityFacts, frame: Frame, amount_cents: int, paid_cents: int,
                 percent: int | None, paid_text: str | None = None) -> str:  # fmt: skip
        """paid_text: format_cents(paid_cents), when the caller has it (once per row)."""
        if percent is None or (paid_cents > 0 and amount_cents >= paid_cents):
            share = share_text(amount_cents, paid_cents, percent)
        else:  # percent_text's common case, without the call
            share = (
                PERCENT_WORDS[percent]
                if 0 < percent <= 100
                else percent_text(percent, amount_cents, paid_cents)
            )
        key = (c.charity_id, paid_cents, share)
        text = self._sentences.get(key)
        if text is None:
            amount = format_cents(paid_cents) if paid_text is None else paid_text
            text = self._sentences[key] = frame.fill(share=share, amount=amount)
        return text

    def __call__(self, c: CharityFacts, amount_cents: int, paid_cents: int, percent=None) -> str:
        """One row's sentence (not counted in the tally)."""
        return self.sentence(c, self._choose(c)[0], amount_cents, paid_cents, percent)

    def tally(self) -> tuple[int, dict[str, int]]:
        """(charities whose frame the model wrote, {fallback reason: charities}) since
        start_place; (0, {}) with the template alone."""
        fallbacks = {r: n for r, n in sorted(self._tally.items()) if r != MODEL}
        return self._tally[MODEL], fallbacks

    def close(self) -> None:
        self._drop_pool()


# settings.EXPLAINER names a backend: "openai" (or "model") is the shipped one.
BACKENDS = {
    "openai": "portfolio.explain_chat.ChatCompletionsExplainer",
    "model": "portfolio.explain_chat.ChatCompletionsExplainer",
}


def get_explainer() -> Explainer:
    """The explainer settings.EXPLAINER names: "" or "template" the template; "openai"
    (or "model") an OpenAI-compatible chat-completions server (EXPLAINER_BASE_URL,
    EXPLAINER_MODEL, EXPLAINER_API_KEY); else a dotted path to a backend (a callable, or
    a class whose instances are callables, taking CharityFacts and answering a frame)."""
    name = (settings.EXPLAINER or "").strip()
    if name in ("", "template"):
        return Explainer()
    path = BACKENDS.get(name.lower(), name)
    try:
        backend = import_string(path)
        if isinstance(backend, type):
            backend = backend()
    except Exception:
        logger.exception("EXPLAINER=%r cannot be loaded; using the template.", name)
        return Explainer()
    return Explainer(backend)
