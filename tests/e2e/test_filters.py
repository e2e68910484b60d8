"""/charities/'s filters in a real browser (see tests/e2e/conftest.py): a city in another
state than the one chosen is told on the page, with links to the questions that have
answers."""

import pytest

from tests.e2e.conftest import DESKTOP, SCREENSHOTS
from tests.factories import CharityFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE_390 = {"width": 390, "height": 844}


def test_conflicting_filters_say_so_and_offer_the_way_out(page):
    CharityFactory(name="Burlington Food Shelf", city="Burlington", state="VT", category="food")
    CharityFactory(name="Louisville Arts", city="Louisville", state="KY", category="arts")
    page.goto("/charities/")
    assert page.locator("#id_state option").all_text_contents() == [
        "Any state", "Kentucky", "Vermont",
    ]  # fmt: skip
    page.get_by_label("City").select_option("Burlington, VT")
    page.get_by_label("State").select_option("KY")
    page.get_by_role("button", name="Show charities").click()
    notice = page.locator(".filter-problems")
    assert "Burlington, VT is in Vermont, not Kentucky." in notice.text_content()
    assert page.locator(".charity-list").count() == 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for viewport, suffix in ((DESKTOP, "1280"), (PHONE_390, "390")):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(SCREENSHOTS / f"filters-conflict-{suffix}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    notice.get_by_role("link", name="Every city in Kentucky").click()
    page.wait_for_url("**/charities/?state=KY")
    assert page.locator(".charity-list h2").all_text_contents() == ["Louisville Arts"]
    assert page.csp_errors == []
