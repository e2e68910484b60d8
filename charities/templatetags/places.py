"""{% place_status city state as status %}: where a donor's gift would go, for the pages
that ask before they give (profile, subscribe). A template tag, so that the account and
billing pages can say it without their apps knowing about charities."""

from django import template

from charities.selectors import get_charities_by_city, get_place_label
from core.places import format_place

register = template.Library()


@register.simple_tag
def place_status(city: str, state: str) -> dict | None:
    """{"label": "Casper, WY", "charities": vetted charities there}, or None with no city."""
    if not city or not state:
        return None
    return {
        "label": format_place(get_place_label(city, state), state),
        "charities": get_charities_by_city(city, state).count(),
    }
