"""Generated input for every form a person fills in: the weekly amount (subscribe and
change), the profile, the needs CSV import and the admin's vetting actions. Never a 500
(the test client re-raises any exception a view lets through), never a half-written row:
each example either makes the whole allowed change or none.

Examples per test are in the `examples(...)` calls: 280 form posts, 80 CSV files and
80 admin actions in CI (ten times as many with HYPOTHESIS_PROFILE=thorough).
"""

import csv
import io
from decimal import Decimal, InvalidOperation

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.management import CommandError, call_command
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from accounts.models import User
from charities.models import Charity
from core import zips
from needs.models import Need, NeedChange
from subscriptions.models import (
    MAX_AMOUNT_CENTS,
    MIN_AMOUNT_CENTS,
    Contribution,
    StripeEvent,
    Subscription,
)
from tests.factories import CharityFactory, NeedFactory, SubscriptionFactory
from tests.trust.budget import examples

pytestmark = pytest.mark.django_db

# Text people type, and text that breaks parsers: signs, exponents, unicode digits,
# separators, NUL, very long strings.
dollar_like = st.one_of(
    st.decimals(min_value=-10**7, max_value=10**7, places=2, allow_nan=False).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.integers(min_value=-(10**15), max_value=10**15).map(str),
    st.sampled_from(
        ["", " ", "0", "0.99", "1", "1.00", "5000", "5000.01", "1e3", "$ 10", "$10.5",
         "10,00", "1,000.00", "\u0661\u0660", "\uff11\uff10", "10.", ".5", "-5", "+5",
         "10.999", "NaN", "Infinity",
         "\x00", "10\x00", "9" * 30, "0x10", "10 dollars", "$$10"]
    ),
    st.text(max_size=30),
)  # fmt: skip


def _money_rows() -> tuple:
    return (
        Subscription.objects.count(),
        Contribution.objects.count(),
        StripeEvent.objects.count(),
        sorted(Subscription.objects.values_list("pk", "amount_cents", "status")),
    )


def _cents_if_valid(text: str) -> int | None:
    """An independent reading of the rule the help text states: dollars with at most two
    decimals, from MIN to MAX."""
    cleaned = text.strip().replace(",", "").removeprefix("$").strip()
    if not cleaned or len(text.strip()) > 20:  # the field's max_length
        return None
    # Any script's decimal digits are digits (Arabic-Indic "10" is ten, as Decimal agrees).
    whole, _, cents = cleaned.partition(".")
    if not whole.isdecimal() or (cents and not cents.isdecimal()) or len(cents) > 2:
        return None
    if cleaned.endswith("."):
        return None
    try:
        value = int(Decimal(cleaned) * 100)
    except InvalidOperation:
        return None
    return value if MIN_AMOUNT_CENTS <= value <= MAX_AMOUNT_CENTS else None


@examples(100)
@given(amount=dollar_like)
def test_subscribing_with_any_amount_starts_a_gift_only_for_a_valid_one(client, alice, amount):
    client.force_login(alice)
    before = _money_rows()
    response = client.post(reverse("subscriptions:subscribe"), {"amount": amount})
    after = _money_rows()
    assert response.status_code in (200, 302)
    expected = _cents_if_valid(amount)
    if response.status_code == 302:
        assert expected is not None, f"{amount!r} was accepted"
        newest = Subscription.objects.latest("pk")
        assert newest.amount_cents == expected and newest.user == alice
        assert (after[0], after[1]) == (before[0] + 1, before[1] + 1)  # demo: first payment
    else:
        assert expected is None, f"{amount!r} was refused"
        assert after == before
        assert b"errorlist" in response.content


@examples(80)
@given(amount=dollar_like, whose=st.sampled_from(["own", "bobs", "missing"]))
def test_changing_the_amount_changes_only_ones_own_gift_and_only_to_a_valid_amount(
    client, alice, bob, amount, whose
):
    own = Subscription.objects.filter(user=alice).first() or SubscriptionFactory(user=alice)
    bobs = Subscription.objects.filter(user=bob).first() or SubscriptionFactory(user=bob)
    pk = {"own": own.pk, "bobs": bobs.pk, "missing": 10**9}[whose]
    client.force_login(alice)
    before = _money_rows()
    response = client.post(reverse("subscriptions:change_amount", args=[pk]), {"amount": amount})
    after = _money_rows()
    if whose != "own":
        assert response.status_code == 404
        assert after == before
        return
    assert response.status_code == 302
    expected = _cents_if_valid(amount)
    own.refresh_from_db()
    if expected is None:
        assert after == before
    else:
        assert own.amount_cents == expected
        assert after[:3] == before[:3]  # no new rows: the amount changes in place
    bobs.refresh_from_db()
    assert bobs.amount_cents == 1000


VALID_ZIPS = ["05156", "40069", "05401", "10001", "94103", "60601", "00501"]
place_text = st.one_of(
    st.text(max_size=120),
    st.sampled_from(["", " ", "Springfield", "springfield ", "New York", "\x00", "Ω" * 101]),
)


def _user_row(user) -> tuple:
    return tuple(
        User.objects.filter(pk=user.pk).values_list(
            "name", "city", "state", "zip_code", "wants_report_emails"
        )[0]
    )


@examples(100)
@given(
    name=st.one_of(st.text(max_size=200), st.just("\x00")),
    zip_code=st.one_of(st.sampled_from(VALID_ZIPS), st.text(max_size=12)),
    city=place_text,
    state=st.one_of(
        st.sampled_from(["", "VT", "KY", "NY", "vt", "XX", "ZZZ"]), st.text(max_size=3)
    ),
    emails=st.sampled_from(["on", "", "yes", "0"]),
    next_=st.sampled_from(["", "subscribe", "//evil.example", "/admin/"]),
)
def test_the_profile_saves_a_consistent_place_or_nothing(
    client, alice, name, zip_code, city, state, emails, next_
):
    client.force_login(alice)
    before = _user_row(alice)
    data = {"name": name, "zip_code": zip_code, "city": city, "state": state, "next": next_}
    if emails:
        data["wants_report_emails"] = emails
    response = client.post(reverse("accounts:profile"), data)
    after = _user_row(alice)
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert after == before, "a refused profile was partly saved"
        return
    assert response["Location"] in (
        reverse("accounts:profile"),
        reverse("subscriptions:subscribe"),
    )
    _, new_city, new_state, new_zip, _ = after
    assert bool(new_city) == bool(new_state)
    if new_zip:
        info = zips.lookup(new_zip)
        assert info is not None and info.state == new_state


# --- import_needs -----------------------------------------------------------------------

COLUMNS = ["ein", "charity_id", "category", "urgency_score", "funding_gap", "funding_gap_cents"]
cell = st.one_of(
    st.sampled_from(
        ["", "food", "housing", "FOOD", "030179436", "03-0179436", "999999999", "12", "100",
         "101", "-1", "0", "12,500.00", "$12500.5", "1e9", "99999999999999", "9" * 40,
         "=cmd|' /C calc'!A0", "\x00", "1.234"]
    ),
    st.text(max_size=12),
)  # fmt: skip


@st.composite
def needs_files(draw) -> bytes:
    header = draw(
        st.one_of(
            st.permutations(COLUMNS).flatmap(
                lambda cols: st.lists(st.sampled_from(cols), max_size=6, unique=True)
            ),
            st.just(["ein", "category", "urgency_score", "funding_gap"]),
            st.lists(st.text(max_size=8), max_size=5),
        )
    )
    rows = draw(st.lists(st.lists(cell, min_size=0, max_size=len(header) + 1), max_size=6))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    text = buffer.getvalue()
    mangle = draw(st.sampled_from(["none", "none", "bom", "latin1", "bytes", "quote"]))
    if mangle == "bom":
        return b"\xef\xbb\xbf" + text.encode()
    if mangle == "latin1":
        return (text + "caf\xe9\n").encode("latin-1", errors="replace")
    if mangle == "bytes":
        return draw(st.binary(max_size=300))
    if mangle == "quote":
        return (text + '"unclosed,food\n').encode()
    return text.encode()


def _needs_rows() -> tuple:
    return (
        sorted(
            Need.objects.values_list(
                "charity_id", "category", "urgency_score", "funding_gap_cents"
            )
        ),
        NeedChange.objects.count(),
    )


@examples(80)
@given(content=needs_files())
def test_import_needs_writes_a_whole_file_or_nothing(tmp_path, content):
    if not Charity.objects.filter(ein="030179436").exists():
        shelf = CharityFactory(name="Food Shelf", ein="030179436")
        NeedFactory(charity=shelf, category="food", urgency_score=10, funding_gap_cents=100)
    path = tmp_path / "needs.csv"
    path.write_bytes(content)
    before = _needs_rows()
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_needs", str(path), stdout=out, stderr=err)
    except CommandError as exc:  # manage.py turns this into one line and exit status 1
        assert str(exc).strip()
        assert "nothing imported" in str(exc) or "not a UTF-8" in str(exc)
        assert _needs_rows() == before, "a refused file wrote needs"
        return
    assert "Imported needs.csv" in out.getvalue()
    needs, changes = _needs_rows()
    assert changes > before[1], "an accepted file recorded no history"
    for _, _, urgency, gap in needs:
        assert 0 <= urgency <= 100 and gap >= 0


def test_a_nul_byte_in_the_ein_column_is_a_reported_line_not_a_traceback(tmp_path):
    """Found by the property above (thorough profile): the NUL reached PostgreSQL."""
    path = tmp_path / "needs.csv"
    path.write_bytes(b"ein,category,urgency_score,funding_gap\r\n\x00,food,1,1\r\n")
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing imported"):
        call_command("import_needs", str(path), stderr=err)
    assert "line 2" in err.getvalue()
    assert not Need.objects.exists()


# --- admin vetting actions ----------------------------------------------------------------

CHANGELIST = reverse("admin:charities_charity_changelist")


def _vetting() -> list:
    return sorted(
        Charity.objects.values_list("pk", "verification_status", "approved_by_id", "admin_notes")
    )


@examples(80)
@given(
    action=st.one_of(
        st.sampled_from(["approve_selected", "reject_selected", "delete_selected"]),
        st.sampled_from(["", "geocode", "approve", "__class__", "get_actions", "index"]),
        st.text(max_size=20),
    ),
    picks=st.lists(
        st.one_of(
            st.integers(min_value=0, max_value=3).map(lambda i: ("existing", i)),
            st.integers(min_value=-(2**63), max_value=2**64).map(lambda i: ("raw", str(i))),
            st.text(max_size=10).map(lambda t: ("raw", t)),
        ),
        max_size=5,
    ),
    note=st.one_of(st.none(), st.text(max_size=1200), st.just("\x00")),
    select_across=st.sampled_from([None, "0", "1", "x"]),
    # Past the "no current need" warning (the charities here have no needs), or not.
    anyway=st.sampled_from([None, "1", "", "no"]),
)
def test_admin_actions_vet_every_selected_charity_or_none(
    client, carol, action, picks, note, select_across, anyway
):
    charities = list(Charity.objects.order_by("pk"))
    if not charities:
        charities = [
            CharityFactory(verification_status="pending", approved_at=None),
            CharityFactory(verification_status="pending", approved_at=None),
            CharityFactory(verification_status="rejected", approved_at=None),
            CharityFactory(verification_status="approved"),
        ]
    selected = [str(charities[v].pk) if kind == "existing" else v for kind, v in picks]
    data = {"action": action, ACTION_CHECKBOX_NAME: selected, "index": "0"}
    if note is not None:
        data.update(apply="Reject", note=note)
    if select_across is not None:
        data["select_across"] = select_across
    if anyway is not None:
        data["approve_anyway"] = anyway
    client.force_login(carol)
    before = _vetting()
    response = client.post(CHANGELIST, data)
    after = _vetting()
    assert response.status_code in (200, 302)
    assert Charity.objects.count() == len(charities), "an action deleted charities"
    if after == before:
        return
    assert action in ("approve_selected", "reject_selected")
    changed = {b[0] for b, a in zip(before, after, strict=True) if a != b}
    target = {"approve_selected": "approved", "reject_selected": "rejected"}[action]
    picked = {int(s) for s in selected if s.isdigit()}
    across = select_across in ("1", "x")  # a BooleanField: any text but "0"/"false" is on
    if not across:
        assert changed <= picked
    chosen = changed if across else picked & {c.pk for c in charities}
    for pk, status, *_ in after:
        if pk in chosen:
            assert status == target, "a selected charity was skipped: half the action applied"


def test_an_admin_action_on_an_id_that_is_not_a_number_changes_nothing(client, carol):
    """Found by the property above: Django's admin filtered pk__in=[""] and answered 500."""
    pending = CharityFactory(verification_status="pending", approved_at=None)
    client.force_login(carol)
    response = client.post(
        CHANGELIST,
        {"action": "approve_selected", ACTION_CHECKBOX_NAME: [pending.pk, ""], "index": "0"},
        follow=True,
    )
    assert response.status_code == 200
    assert b"not a charity" in response.content
    pending.refresh_from_db()
    assert pending.verification_status == "pending"
