from django import forms

from core.places import STATE_CHOICES, format_place, parse_place
from core.widgets import FastSelect

from .categories import CATEGORY_CHOICES


class CharityFilterForm(forms.Form):
    """The GET filters of /charities/. An unknown value is ignored (the field is dropped),
    so a stale bookmark shows all charities instead of an error page."""

    q = forms.CharField(label="Search by name", required=False, max_length=200)
    place = forms.ChoiceField(label="City", required=False, widget=FastSelect)
    state = forms.ChoiceField(
        label="State",
        required=False,
        choices=[("", "Any state"), *STATE_CHOICES],
        widget=FastSelect,
    )
    category = forms.ChoiceField(
        label="Category",
        required=False,
        choices=[("", "Any category"), *CATEGORY_CHOICES],
        widget=FastSelect,
    )

    def __init__(self, *args, places: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["place"].choices = [("", "Any city")] + [
            (format_place(city, state), format_place(city, state)) for city, state in places
        ]

    def filters(self) -> dict:
        """Keyword arguments for charities.selectors.get_all_charities."""
        if not self.is_bound:
            return {}
        self.is_valid()  # cleaned_data keeps the valid fields and drops the others
        data = self.cleaned_data
        out = {}
        if data.get("q"):
            out["text"] = data["q"]
        if data.get("place"):
            out["city"], out["state"] = parse_place(data["place"])
        elif data.get("state"):
            out["state"] = data["state"]
        if data.get("category"):
            out["category"] = data["category"]
        return out
