"""/charities/'s filters: they offer only the cities, states and categories of approved
charities, and a question they cannot answer (a city in another state, a value that is
not offered, garbage) is told in words on the page, never ignored and never a 500."""

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charities.models import CharityStatus
from tests.factories import CharityFactory

pytestmark = pytest.mark.django_db
URL = "/charities/"


@pytest.fixture
def world(db):
    CharityFactory(name="VT Food", city="Springfield", state="VT", category="food")
    CharityFactory(name="KY Food", city="Springfield", state="KY", category="food")
    CharityFactory(name="VT Arts", city="Burlington", state="VT", category="arts")
    # Not approved: its state, city and category are offered nowhere.
    CharityFactory(
        name="Pending Prayer", city="Albany", state="NY", category="religion",
        verification_status=CharityStatus.PENDING, approved_at=None,
    )  # fmt: skip


def names(response):
    return [c.name for c in response.context["listing"]["page"].object_list]


def problems(response):
    return [p["message"] for p in response.context["listing"]["problems"]]


def options(response, field):
    return [value for value, _ in response.context["listing"]["form"].fields[field].widget.choices]


def test_the_filters_offer_only_what_approved_charities_have(client, world):
    response = client.get(URL)
    assert options(response, "state") == ["", "KY", "VT"]
    assert options(response, "place") == [
        "",
        "Springfield, KY",
        "Burlington, VT",
        "Springfield, VT",
    ]
    assert options(response, "category") == ["", "arts", "food"]
    html = response.content.decode()
    assert '<option value="NY">' not in html and "Religion" not in html
    assert '<option value="VT">Vermont</option>' in html


def test_a_newly_approved_charity_is_offered_at_once(
    client, world, carol, django_capture_on_commit_callbacks
):
    from charities.models import Charity
    from charities.services import approve_charity

    assert "NY" not in options(client.get(URL), "state")
    with django_capture_on_commit_callbacks(execute=True):
        approve_charity(Charity.objects.get(name="Pending Prayer"), by=carol)
    response = client.get(URL)
    assert "NY" in options(response, "state")
    assert "Albany, NY" in options(response, "place")
    assert "religion" in options(response, "category")


def test_matching_filters_still_filter(client, world):
    assert names(client.get(URL, {"place": "Springfield, KY"})) == ["KY Food"]
    assert names(client.get(URL, {"place": "springfield,  vt"})) == ["VT Food"]
    assert names(client.get(URL, {"state": "VT"})) == ["VT Arts", "VT Food"]
    assert names(client.get(URL, {"state": "vt", "place": "Burlington, VT"})) == ["VT Arts"]
    assert names(client.get(URL, {"category": "food", "state": "KY"})) == ["KY Food"]
    response = client.get(URL, {"q": "food", "state": "VT"})
    assert names(response) == ["VT Food"] and problems(response) == []


def test_a_city_in_another_state_than_the_one_chosen_says_so(client, world):
    response = client.get(URL, {"place": "Burlington, VT", "state": "KY"})
    assert names(response) == []
    assert problems(response) == ["Burlington, VT is in Vermont, not Kentucky."]
    html = response.content.decode()
    assert 'href="?place=Burlington%2C+VT">Burlington, VT</a>' in html
    assert 'href="?state=KY">Every city in Kentucky</a>' in html
    assert "charities found" not in html


def test_a_city_we_list_elsewhere_names_the_states_it_is_in(client, world):
    response = client.get(URL, {"place": "Springfield, NY"})
    assert names(response) == []
    assert problems(response) == [
        "We list no charities in Springfield, NY: Springfield is in Kentucky and Vermont."
    ]
    html = response.content.decode()
    assert 'href="?place=Springfield%2C+KY"' in html and 'href="?place=Springfield%2C+VT"' in html


@pytest.mark.parametrize(
    "params, message",
    [
        ({"place": "Nowhere"}, "“Nowhere” is not a city we list: choose one from the list."),
        ({"place": "Nowhere, VT"}, "We list no charities in Nowhere, VT."),
        (
            {"place": "Nowhere, ZZ"},
            "“Nowhere, ZZ” is not a city we list: choose one from the list.",
        ),
        ({"state": "NY"}, "We list no charities in New York yet."),
        ({"state": "ZZ"}, "“ZZ” is not a US state: use its two-letter code, like VT."),
        ({"category": "religion"}, "We list no charities under Religion yet."),
        ({"category": "nope"}, "“nope” is not a category we use."),
        (
            {"q": "x" * 201},
            "Search by name: Ensure this value has at most 200 characters (it has 201).",
        ),
    ],
)
def test_a_value_that_is_not_offered_is_told_not_ignored(client, world, params, message):
    response = client.get(URL, params)
    assert response.status_code == 200
    assert problems(response) == [message]
    assert names(response) == []
    assert message in response.content.decode()


def test_every_problem_is_told_at_once(client, world):
    response = client.get(URL, {"state": "ZZ", "category": "nope"})
    assert len(problems(response)) == 2


def test_a_nowhere_place_in_a_listed_state_offers_that_state(client, world):
    html = client.get(URL, {"place": "Nowhere, VT"}).content.decode()
    assert 'href="?state=VT">Every city in Vermont</a>' in html


def test_junk_parameters_do_not_make_new_cache_entries(client, world, django_assert_num_queries):
    client.get(URL, {"state": "VT"})
    with django_assert_num_queries(0):
        response = client.get(URL, {"state": "VT", "utm_source": "a-newsletter"})
    assert names(response) == ["VT Arts", "VT Food"]


GARBAGE = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    params=st.dictionaries(
        st.sampled_from(["q", "place", "state", "category", "page", "city"]), GARBAGE, max_size=5
    )
)
def test_garbage_in_the_query_string_is_never_a_500(client, world, params):
    cache.clear()
    for url in (URL, "/charities/map/"):
        response = client.get(url, params)
        assert response.status_code == 200, (url, params)
