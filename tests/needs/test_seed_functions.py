import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from needs.models import Need, NeedChange
from needs.selectors import (
    charity_weights,
    get_active_needs,
    get_needs_by_charity,
    get_needs_by_city,
)
from needs.services import create_need, update_need
from tests.factories import CharityFactory, NeedFactory

pytestmark = pytest.mark.django_db


def _fields(exc) -> set[str]:
    return set(exc.value.message_dict)


def test_create_need_creates_then_updates_one_row_per_charity_and_category(carol):
    charity = CharityFactory()
    first = create_need(
        charity=charity,
        category="food",
        urgency_score=60,
        funding_gap_cents=500_000,
        changed_by=carol,
    )
    again = create_need(
        charity=charity,
        category="food",
        urgency_score=90,
        funding_gap_cents=250_000,
        changed_by=carol,
    )
    assert again.pk == first.pk
    assert Need.objects.get().urgency_score == 90
    history = list(
        NeedChange.objects.order_by("id").values_list(
            "old_urgency_score",
            "new_urgency_score",
            "old_funding_gap_cents",
            "new_funding_gap_cents",
            "changed_by",
        )
    )
    assert history == [(None, 60, None, 500_000, carol.pk), (60, 90, 500_000, 250_000, carol.pk)]


def test_reporting_the_same_values_refreshes_the_date_without_a_change_record():
    charity = CharityFactory()
    old = timezone.now() - dt.timedelta(days=10)
    create_need(charity=charity, category="food", urgency_score=60, funding_gap_cents=100, at=old)
    need = create_need(charity=charity, category="food", urgency_score=60, funding_gap_cents=100)
    assert need.last_updated > old
    assert NeedChange.objects.count() == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"urgency_score": 101}, "urgency_score"),
        ({"urgency_score": -1}, "urgency_score"),
        ({"urgency_score": True}, "urgency_score"),
        ({"urgency_score": 50.5}, "urgency_score"),
        ({"funding_gap_cents": -1}, "funding_gap_cents"),
        ({"funding_gap_cents": "100"}, "funding_gap_cents"),
        ({"category": "yachts"}, "category"),
        ({"source": "rumour"}, "source"),
        ({"metadata": ["not", "a", "dict"]}, "metadata"),
        ({"at": dt.datetime(2026, 1, 1)}, "at"),
    ],
)
def test_create_need_names_the_bad_field_and_writes_nothing(kwargs, field):
    values = dict(
        charity=CharityFactory(), category="food", urgency_score=50, funding_gap_cents=100
    )
    values.update(kwargs)
    with pytest.raises(ValidationError) as exc:
        create_need(**values)
    assert field in _fields(exc)
    assert not Need.objects.exists() and not NeedChange.objects.exists()


def test_update_need_records_old_and_new(carol):
    need = NeedFactory(urgency_score=40, funding_gap_cents=1000)
    update_need(need, urgency_score=70, changed_by=carol, note="flood")
    change = NeedChange.objects.get()
    assert (change.old_urgency_score, change.new_urgency_score) == (40, 70)
    assert (change.old_funding_gap_cents, change.new_funding_gap_cents) == (1000, 1000)
    assert (change.changed_by, change.note, change.source) == (carol, "flood", "manual")


def test_update_need_writes_nothing_when_one_value_is_bad():
    need = NeedFactory(urgency_score=40, funding_gap_cents=1000)
    with pytest.raises(ValidationError) as exc:
        update_need(need, urgency_score=70, funding_gap_cents=-5)
    assert _fields(exc) == {"funding_gap_cents"}
    need.refresh_from_db()
    assert (need.urgency_score, need.funding_gap_cents) == (40, 1000)
    assert not NeedChange.objects.exists()


def test_get_needs_by_charity_and_by_city():
    vt = CharityFactory()
    ky = CharityFactory(state="KY", zip_code="40069")
    pending = CharityFactory(verification_status="pending", approved_at=None)
    mine = NeedFactory(charity=vt)
    NeedFactory(charity=ky)
    NeedFactory(charity=pending)
    assert list(get_needs_by_charity(vt)) == [mine]
    assert list(get_needs_by_city(" springfield", "VT")) == [mine]
    with pytest.raises(ValidationError) as exc:
        get_needs_by_charity("vt")
    assert _fields(exc) == {"charity"}


def test_get_needs_by_city_answers_with_the_needs_that_count_one_per_charity_and_category():
    now = timezone.now()
    vt = CharityFactory()
    NeedFactory(charity=vt, category="food", source="api", last_updated=now - dt.timedelta(days=3))
    counts = NeedFactory(charity=vt, category="food", source="manual",
                         last_updated=now - dt.timedelta(days=1))  # fmt: skip
    NeedFactory(charity=vt, category="housing", last_updated=now - dt.timedelta(days=40))  # stale
    tie_manual = NeedFactory(charity=vt, category="youth", source="manual", last_updated=now)
    NeedFactory(charity=vt, category="youth", source="api", last_updated=now)
    assert list(get_needs_by_city("Springfield", "VT", now=now)) == [counts, tie_manual]


def test_get_active_needs_keeps_current_needs_with_urgency_strictly_above_the_threshold():
    hot = NeedFactory(urgency_score=90)
    NeedFactory(urgency_score=50, category="housing")
    NeedFactory(urgency_score=99, category="youth",
                last_updated=timezone.now() - dt.timedelta(days=60))  # stale  # fmt: skip
    NeedFactory(
        urgency_score=95, charity=CharityFactory(verification_status="rejected", approved_at=None)
    )
    assert list(get_active_needs()) == [hot]
    assert get_active_needs(threshold=49).count() == 2
    with pytest.raises(ValidationError) as exc:
        get_active_needs(threshold=101)
    assert _fields(exc) == {"threshold"}


def test_only_current_needs_count_toward_a_weight(settings):
    settings.NEEDS_MAX_AGE_DAYS = 30
    now = timezone.now()
    charity = CharityFactory()
    NeedFactory(
        charity=charity,
        category="food",
        urgency_score=80,
        funding_gap_cents=1000,
        last_updated=now - dt.timedelta(days=2),
    )
    NeedFactory(
        charity=charity,
        category="housing",
        urgency_score=90,
        funding_gap_cents=5000,
        last_updated=now - dt.timedelta(days=31),
    )
    assert charity_weights([charity.pk], now=now) == {charity.pk: (80 * 1000, 1000, 80)}
    later = now + dt.timedelta(days=29)
    assert charity_weights([charity.pk], now=later) == {}
