"""The model-backed explainer against a fake OpenAI-compatible server on 127.0.0.1
(tests/portfolio/fake_model.py): asked once per week, place and charity, never per donor
and never while the place's ledger rows are locked; its sentence is used only when it
keeps the rules, and every fallback to the template is counted in the run's line."""

import re
import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, connections, transaction

from core.templatetags.money import format_cents, percentages
from distributions.models import Distribution, RunCity
from needs.models import Need
from portfolio import tasks
from portfolio.explain import Explainer, get_explainer
from portfolio.explain_chat import ChatCompletionsExplainer
from portfolio.services import calculate_distribution, distribute_funds
from subscriptions.models import Contribution
from tests.core.test_settings import _start
from tests.portfolio.fake_model import SLOW, FakeChatModel, completion, right_answer
from tests.portfolio.scenario import NOW, WEEK, charity, donor, lines, paid

pytestmark = pytest.mark.django_db
URGENCY = "urgency"


@pytest.fixture
def model(settings):
    fake = FakeChatModel()
    settings.EXPLAINER = "openai"
    settings.EXPLAINER_BASE_URL = fake.base_url
    settings.EXPLAINER_MODEL = "fake-model"
    settings.EXPLAINER_API_KEY = "sk-test-key"
    settings.EXPLAINER_TIMEOUT = 5
    yield fake
    fake.close()


def three_charities(donors=12):
    """Coats (urgency 90, its own line), Food (60), Books (20) in Springfield, VT, and
    `donors` donors giving different amounts."""
    coats = charity(name="Coat Drive", urgency=90, gap=1_250_000)
    Need.objects.filter(charity=coats).update(description="Winter coats for 40 children")
    charity(name="Food Shelf", urgency=60, gap=400_000)
    charity(name="Book Club", urgency=20, gap=100_000)
    for i in range(donors):
        paid(donor(), 500 + 137 * i)


def answers_by_urgency(fake) -> dict[str, str]:
    """What the fake answered, by the urgency it was told ("90/100" -> its text)."""
    return {a["facts"][URGENCY]: fake.answer(a["facts"]) for a in fake.asked}


def expected_reasons(frame_of) -> dict[tuple[int, int], str]:
    """(subscription, charity) -> the frame of the charity (by its urgency score) with
    the donor's share of the subscription's rows (controlled rounding, by charity id) and
    the donor's gift filled in."""
    rows = list(Distribution.objects.select_related("charity").order_by("subscription_id",
                                                                        "charity_id"))  # fmt: skip
    by_sub: dict[int, list] = {}
    for row in rows:
        by_sub.setdefault(row.subscription_id, []).append(row)
    out = {}
    for sub_rows in by_sub.values():
        gift = format_cents(sum(r.amount_cents for r in sub_rows))
        for row, pct in zip(sub_rows, percentages([r.amount_cents for r in sub_rows]),
                            strict=True):  # fmt: skip
            urgency = row.charity.needs.get().urgency_score
            share = {100: "all", 0: "less than 1%"}.get(pct, f"{pct}%")
            text = frame_of(urgency).replace("{share}", share).replace("{amount}", gift)
            out[(row.subscription_id, row.charity_id)] = text[0].upper() + text[1:]
    return out


def reasons() -> dict[tuple[int, int], str]:
    return {(d.subscription_id, d.charity_id): d.reason for d in Distribution.objects.all()}


def test_the_models_sentence_is_asked_once_per_charity_and_filled_for_every_donor(model):
    three_charities(donors=12)

    run = distribute_funds(WEEK, now=NOW)

    assert Distribution.objects.count() == 36  # 12 donors x 3 charities
    assert len(model.asked) == 3  # once per charity, never per donor
    by_urgency = answers_by_urgency(model)
    assert set(by_urgency) == {"90/100", "60/100", "20/100"}
    assert reasons() == expected_reasons(lambda urgency: by_urgency[f"{urgency}/100"])
    line = lines(run)["Springfield, VT"]
    assert (line.explained_by_model, line.explainer_fallbacks) == (3, {})


def test_the_model_is_asked_as_an_openai_compatible_chat_completion_with_the_facts(model):
    three_charities(donors=2)

    distribute_funds(WEEK, now=NOW)

    coats = next(a for a in model.asked if a["facts"][URGENCY] == "90/100")
    assert coats["authorization"] == "Bearer sk-test-key"
    payload = coats["payload"]
    assert (payload["model"], payload["temperature"]) == ("fake-model", 0)
    assert [m["role"] for m in payload["messages"]] == ["system", "user"]
    # This week's gifts to the coats: its row amounts, in the units given.
    week = sum(Distribution.objects.filter(charity__name="Coat Drive").values_list(
        "amount_cents", flat=True))  # fmt: skip
    assert coats["facts"] == {
        "place": "Springfield, VT",
        "the need, in the charity's own words": "Winter coats for 40 children",
        "urgency": "90/100",
        "urgency in words": "critical",
        "its funding gap before this week's gifts": "$12,500",
        "this week's gifts to it from every donor in the place": format_cents(week),
        "the part of its gap this week's gifts cover": "less than 1%",
        "its rank by need (urgency x gap) in the place": "1st of 3",
        "charities with a current need in the place": "3",
    }
    # The charity's name is printed beside the sentence: the model is never told it.
    assert not any("Coat Drive" in str(a["payload"]) for a in model.asked)


BAD_ANSWERS = {
    "wrong_number": [
        "{share} of your {amount} goes to a need with urgency 91/100.",
        "{share} of your {amount} goes to a need with urgency 90 of 100.",
        "{share} of your {amount} helps one of two charities in Springfield, VT.",
    ],
    "missing_slot": [
        "Your gift goes to a critical need in Springfield, VT.",
        "{share} of your {amount} goes to {charity}.",
    ],
    "not_one_sentence": ["{share} of your {amount} helps. The need is critical."],
}


@pytest.mark.parametrize(
    ("reason", "bad"), [(r, text) for r, texts in BAD_ANSWERS.items() for text in texts]
)
def test_an_answer_that_breaks_a_rule_gets_the_template_and_is_counted(model, reason, bad):
    model.answer = lambda facts: bad if facts[URGENCY] == "90/100" else right_answer(facts)
    three_charities(donors=4)

    run = distribute_funds(WEEK, now=NOW)

    assert len(model.asked) == 3  # a refused answer does not stop the others being asked
    for row in Distribution.objects.filter(charity__name="Coat Drive"):
        assert re.fullmatch(
            r"(\d+%|All|Less than 1%) of your \$[\d.]+ goes to \"Winter coats for 40 "
            r"children\", urgency 90/100 \(critical\); it has the largest need of the 3 "
            r"charities in Springfield, VT, and this week's gifts cover .*\.",
            row.reason,
        ), row.reason
    for row in Distribution.objects.exclude(charity__name="Coat Drive"):
        assert " answers a " in row.reason  # the model's
    line = lines(run)["Springfield, VT"]
    assert (line.explained_by_model, line.explainer_fallbacks) == (2, {reason: 1})


def test_a_slow_model_times_out_and_is_not_asked_again_that_run(model, settings):
    settings.EXPLAINER_TIMEOUT = 0.3
    model.answer = lambda facts: SLOW
    three_charities(donors=3)
    charity("Springfield", "KY", name="Kentucky Kitchen")
    paid(donor("Springfield", "KY"), 700)

    run = distribute_funds(WEEK, now=NOW)

    assert len(model.asked) == 1  # the breaker opened after the first timeout
    assert Distribution.objects.count() == 10  # the money went out all the same
    assert not any(" answers a " in r for r in reasons().values())
    fallbacks = {place: line.explainer_fallbacks for place, line in lines(run).items()}
    # Kentucky runs first (places go by state): its charity timed out.
    assert fallbacks == {"Springfield, KY": {"timeout": 1}, "Springfield, VT": {"not_asked": 3}}


@pytest.mark.parametrize("status", [500, 503, 401, 404])
def test_a_model_answering_an_http_error_falls_back_and_is_not_asked_again(model, status):
    model.answer = lambda facts: status
    three_charities(donors=3)

    run = distribute_funds(WEEK, now=NOW)

    assert len(model.asked) == 1
    line = lines(run)["Springfield, VT"]
    assert (line.explained_by_model, line.explainer_fallbacks) == (0, {"error": 1, "not_asked": 2})


def test_a_model_nobody_answers_at_falls_back_to_the_template(model):
    model.close()  # connection refused
    three_charities(donors=2)

    run = distribute_funds(WEEK, now=NOW)

    assert Distribution.objects.count() == 6
    assert lines(run)["Springfield, VT"].explainer_fallbacks == {"error": 1, "not_asked": 2}


def test_garbage_answers_fall_back_per_charity_without_stopping_the_model(model):
    garbage = {
        "90/100": b"<html>Bad gateway</html>",
        "60/100": completion(None),
        "20/100": b'{"choices": []}',
    }
    model.answer = lambda facts: garbage[facts[URGENCY]]
    three_charities(donors=2)

    run = distribute_funds(WEEK, now=NOW)

    assert len(model.asked) == 3
    assert lines(run)["Springfield, VT"].explainer_fallbacks == {"garbage": 3}


def test_a_number_that_is_not_text_is_garbage_too(model):
    model.answer = lambda facts: (
        completion(42) if facts[URGENCY] == "90/100" else right_answer(facts)
    )
    three_charities(donors=1)

    run = distribute_funds(WEEK, now=NOW)

    line = lines(run)["Springfield, VT"]
    assert (line.explained_by_model, line.explainer_fallbacks) == (2, {"garbage": 1})


def test_money_that_arrives_while_the_model_thinks_makes_its_answers_stale(model, monkeypatch):
    three_charities(donors=2)
    real = Explainer.prepare

    def prepare_then_someone_pays(self, facts, **kw):
        real(self, facts, **kw)
        paid(donor(), 999)  # before the place's transaction: the figures move

    monkeypatch.setattr(Explainer, "prepare", prepare_then_someone_pays)

    run = distribute_funds(WEEK, now=NOW)

    assert len(model.asked) == 3
    assert Distribution.objects.count() == 9  # the late payment is given too
    assert not any(" answers a " in r for r in reasons().values())
    assert lines(run)["Springfield, VT"].explainer_fallbacks == {"stale": 3}


def test_a_new_run_of_the_week_asks_the_model_again_after_a_failure(model):
    model.answer = lambda facts: 500
    three_charities(donors=2)
    distribute_funds(WEEK, now=NOW)
    model.answer = right_answer
    paid(donor(), 1234)  # late money for the same week

    run = distribute_funds(WEEK, now=NOW)

    assert len(model.asked) == 1 + 3
    line = lines(run)["Springfield, VT"]  # both passes, added up
    assert (line.explained_by_model, line.explainer_fallbacks) == (3, {"error": 1, "not_asked": 2})


def test_the_same_figures_are_not_asked_about_twice(model):
    three_charities(donors=3)

    first = calculate_distribution("Springfield", "VT", WEEK, now=NOW)
    second = calculate_distribution("Springfield", "VT", WEEK, now=NOW)

    assert len(model.asked) == 3  # the second dry run found every answer kept
    assert first.rows == second.rows
    assert all(" answers a " in reason for *_, reason in first.rows)


def _run_in_process():
    return distribute_funds(WEEK, now=NOW)


def _run_by_celery():
    tasks.weekly_distribution.delay(WEEK.isoformat())
    return RunCity.objects.first().run


@pytest.mark.parametrize("run_week", [_run_in_process, _run_by_celery])
@pytest.mark.parametrize("answer", [right_answer, lambda facts: 500])
def test_the_celery_path_explains_exactly_as_the_in_process_one(model, monkeypatch, run_week,
                                                                 answer):  # fmt: skip
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)
    model.answer = answer
    three_charities(donors=2)
    charity("Springfield", "KY", name="Kentucky Kitchen")
    paid(donor("Springfield", "KY"), 700)

    run = run_week()

    counts = {p: (ln.explained_by_model, ln.explainer_fallbacks) for p, ln in lines(run).items()}
    if answer is right_answer:
        assert len(model.asked) == 4
        assert counts == {"Springfield, KY": (1, {}), "Springfield, VT": (3, {})}
    else:  # one city task's failure opens the breaker for the run's other city tasks
        assert len(model.asked) == 1
        assert counts == {
            "Springfield, KY": (0, {"error": 1}),
            "Springfield, VT": (0, {"not_asked": 3}),
        }


# --- never while the ledger rows are locked --------------------------------------------


def _lock_probe(engine_connection, seen: list):
    """Run in the fake server's thread whenever the model is asked: is the engine's
    connection inside a transaction, and (PostgreSQL) can another connection lock every
    contribution at once (SELECT ... FOR UPDATE NOWAIT)?"""

    def probe(facts=None):
        locked = None
        if connection.vendor == "postgresql":
            try:
                with transaction.atomic():
                    list(Contribution.objects.select_for_update(nowait=True).values_list("id"))
                locked = False
            except DatabaseError:
                locked = True
            finally:
                connections.close_all()  # this thread's connection
        seen.append((engine_connection.in_atomic_block, locked))

    return probe


@pytest.mark.django_db(transaction=True)
def test_the_model_is_never_asked_while_the_places_rows_are_locked(model):
    three_charities(donors=3)
    seen: list = []
    # This thread's connection itself (django.db.connection would be the probe thread's).
    probe = _lock_probe(connections["default"], seen)

    # The probe itself sees a lock when there is one.
    with transaction.atomic():
        list(Contribution.objects.select_for_update().values_list("id"))
        thread = threading.Thread(target=probe)
        thread.start()
        thread.join()
    held = seen.pop()
    assert held == (True, True if connection.vendor == "postgresql" else None)

    model.on_request = probe
    distribute_funds(WEEK, now=NOW)

    assert len(seen) == 3 and len(model.asked) == 3
    expected_lock = False if connection.vendor == "postgresql" else None
    assert seen == [(False, expected_lock)] * 3
    assert Contribution.objects.filter(distributed_week=WEEK).count() == 3


# --- settings, the command, the admin ---------------------------------------------------


def test_openai_names_the_chat_completions_backend_from_the_settings(model):
    explainer = get_explainer()
    assert isinstance(explainer.backend, ChatCompletionsExplainer)
    assert explainer.backend.base_url == model.base_url
    assert explainer.backend.model == "fake-model"


def test_a_model_explainer_without_a_model_name_means_the_template(model, settings):
    settings.EXPLAINER_MODEL = ""
    assert not get_explainer().asks_model


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"EXPLAINER": "openai"}, "EXPLAINER_MODEL"),
        (
            {"EXPLAINER": "openai", "EXPLAINER_MODEL": "m", "EXPLAINER_BASE_URL": "ftp://x"},
            "EXPLAINER_BASE_URL",
        ),
        ({"EXPLAINER": "a model please"}, "EXPLAINER must be"),
        ({"EXPLAINER_TIMEOUT": "0"}, "EXPLAINER_TIMEOUT"),
    ],
)
def test_a_bad_explainer_setting_refuses_to_start(env, message):
    result = _start(DEBUG="1", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


def test_a_local_server_needs_no_key():
    local = {"EXPLAINER_BASE_URL": "http://127.0.0.1:11434/v1", "EXPLAINER_MODEL": "llama3.2"}
    result = _start(DEBUG="1", EXPLAINER="openai", show="EXPLAINER_MODEL", **local)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "llama3.2"


def test_run_distribution_says_how_the_sentences_were_written(model, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)
    model.answer = lambda facts: (
        "{share} of your {amount} helps 7 people." if facts[URGENCY] == "90/100"
        else right_answer(facts)
    )  # fmt: skip
    three_charities(donors=2)
    out = StringIO()

    call_command("run_distribution", "--week", WEEK.isoformat(), stdout=out)

    text = out.getvalue()
    assert (
        "Springfield, VT: $11.37 given in 6 rows to 3 charities; sentences: 2 by the model, "
        "1 by the template (wrong number 1)." in text
    )
    assert (
        "Sentences, per charity given to: 2 by the model, 1 by the template (wrong number 1)."
        in text
    )


def test_the_run_page_shows_how_each_places_sentences_were_written(model, client, admin_user):
    model.answer = lambda facts: 500
    three_charities(donors=2)
    run = distribute_funds(WEEK, now=NOW)
    client.force_login(admin_user)

    page = client.get(f"/admin/distributions/distributionrun/{run.pk}/change/").content.decode()

    assert "<th>Sentences</th>" in page
    assert "0 by the model, 3 by the template (error 1, not asked 2)" in page


def test_without_a_model_the_run_line_counts_nothing_and_says_template(settings):
    settings.EXPLAINER = "template"
    three_charities(donors=2)
    run = distribute_funds(WEEK, now=NOW)
    line = lines(run)["Springfield, VT"]
    assert (line.explained_by_model, line.explainer_fallbacks) == (0, {})


class BrokenCache:
    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise ConnectionError("cache down")

        return fail


def test_a_cache_that_is_down_costs_the_run_nothing(model, monkeypatch):
    monkeypatch.setattr("portfolio.explain.cache", BrokenCache())
    three_charities(donors=2)

    run = distribute_funds(WEEK, now=NOW)

    line = lines(run)["Springfield, VT"]
    assert (line.status, line.explained_by_model, line.explainer_fallbacks) == ("done", 3, {})


def test_inside_a_callers_transaction_the_model_is_not_asked(model):
    # seed_demo runs its weeks in one transaction: places already given stay locked.
    three_charities(donors=2)

    with transaction.atomic():
        run = distribute_funds(WEEK, now=NOW)

    assert model.asked == []
    assert lines(run)["Springfield, VT"].explainer_fallbacks == {"not_asked": 3}
