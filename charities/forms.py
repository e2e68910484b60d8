from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError

from core.places import STATE_CHOICES, US_STATES, format_place, parse_place, place_key
from core.widgets import FastSelect

from .categories import CATEGORY_CHOICES, CATEGORY_LABELS
from .models import MemberRole
from .selectors import FilterChoices
from .services import MISSION_MAX_LENGTH


def _shown(raw: str, limit: int = 60) -> str:
    """What someone typed, fit to be quoted back (one line, not too long; the template
    escapes it)."""
    text = " ".join(str(raw).replace("\x00", "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _and_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


@dataclass(frozen=True)
class FilterProblem:
    """A filter that cannot be answered, said in words, with questions that can be
    (label, query parameters) as links."""

    message: str
    suggestions: tuple[tuple[str, dict], ...] = ()


def resolve_place(
    raw: str, places: list[tuple[str, str]]
) -> tuple[tuple[str, str] | None, FilterProblem | None]:
    """A "City, ST" from a query string -> its (city, state) among `places` (compared as
    places are: trimmed, case-insensitively), or the problem to tell: a city of that name
    in other states, a state with charities but not in that city, or a value that is no
    place at all. Never raises."""
    try:
        city, state = parse_place(raw)
    except ValidationError:
        return None, FilterProblem(
            f"“{_shown(raw)}” is not a city we list: choose one from the list."
        )
    key = place_key(city, state)
    for known in places:
        if place_key(*known) == key:
            return known, None
    elsewhere = [known for known in places if place_key(*known)[0] == key[0]]
    if elsewhere:
        return None, FilterProblem(
            f"We list no charities in {_shown(city)}, {state}: {elsewhere[0][0]} is in "
            f"{_and_list([US_STATES[s] for _, s in elsewhere])}.",
            tuple((format_place(*p), {"place": format_place(*p)}) for p in elsewhere),
        )
    in_state = [known for known in places if known[1] == state]
    return None, FilterProblem(
        f"We list no charities in {_shown(city)}, {state}.",
        ((f"Every city in {US_STATES[state]}", {"state": state}),) if in_state else (),
    )


class CharityFilterForm(forms.Form):
    """The GET filters of /charities/. Each offers only what approved charities have
    (charities.selectors.get_filter_choices).

    A value that is not offered (a stale bookmark, a typed URL) or a city in another state
    than the one chosen is never dropped silently: `problems` says what is wrong, with
    links to the questions that have answers, and the list shows what matches every
    filter, which is nothing. Garbage of any kind is a problem to tell, never an error."""

    q = forms.CharField(label="Search by name", required=False, max_length=200)
    place = forms.CharField(label="City", required=False, widget=FastSelect)
    state = forms.CharField(label="State", required=False, widget=FastSelect)
    category = forms.CharField(label="Category", required=False, widget=FastSelect)

    def __init__(self, *args, choices: FilterChoices, **kwargs):
        super().__init__(*args, **kwargs)
        self.choices = choices
        self.fields["place"].widget.choices = [("", "Any city")] + [
            (format_place(city, state), format_place(city, state))
            for city, state in choices.places
        ]
        self.fields["state"].widget.choices = [("", "Any state")] + [
            (code, US_STATES.get(code, code)) for code in choices.states
        ]
        self.fields["category"].widget.choices = [("", "Any category")] + [
            (value, CATEGORY_LABELS.get(value, value)) for value in choices.categories
        ]
        self.problems: list[FilterProblem] = []
        self._filters: dict = {}
        if self.is_bound:
            self._check()

    def _check(self) -> None:
        self.is_valid()
        for name in ("q", "place", "state", "category"):
            for error in self.errors.get(name, []):
                label = self.fields[name].label
                self.problems.append(FilterProblem(f"{label}: {error}"))
        data = self.cleaned_data
        out = {}
        if data.get("q", "").strip():
            out["text"] = data["q"].strip()
        place = None
        if data.get("place"):
            place, problem = resolve_place(data["place"], self.choices.places)
            if problem:
                self.problems.append(problem)
            else:
                out["city"], out["state"] = place
        if data.get("state"):
            state = data["state"].strip().upper()
            if state in self.choices.states:
                if place and place[1] != state:
                    name = format_place(*place)
                    self.problems.append(
                        FilterProblem(
                            f"{name} is in {US_STATES[place[1]]}, not {US_STATES[state]}.",
                            (
                                (name, {"place": name}),
                                (f"Every city in {US_STATES[state]}", {"state": state}),
                            ),
                        )
                    )
                out["state"] = place[1] if place else state
            elif state in US_STATES:
                self.problems.append(
                    FilterProblem(f"We list no charities in {US_STATES[state]} yet.")
                )
            else:
                self.problems.append(
                    FilterProblem(
                        f"“{_shown(data['state'])}” is not a US state: "
                        "use its two-letter code, like VT."
                    )
                )
        if data.get("category"):
            category = data["category"].strip()
            if category in self.choices.categories:
                out["category"] = category
            elif category in CATEGORY_LABELS:
                self.problems.append(
                    FilterProblem(f"We list no charities under {CATEGORY_LABELS[category]} yet.")
                )
            else:
                self.problems.append(
                    FilterProblem(f"“{_shown(category)}” is not a category we use.")
                )
        self._filters = out

    @property
    def answerable(self) -> bool:
        return not self.problems

    def filters(self) -> dict:
        """Keyword arguments for charities.selectors.get_all_charities (when answerable)."""
        return dict(self._filters)


class EinForm(forms.Form):
    """Step one of /charities/apply/ (a GET): the EIN, to look up in the IRS file."""

    ein = forms.CharField(
        label="EIN",
        max_length=12,
        help_text="The charity's IRS employer identification number, like 12-3456789.",
    )

    def clean_ein(self):
        ein = self.cleaned_data["ein"].strip().replace("-", "")
        if len(ein) != 9 or not ein.isdigit():
            raise forms.ValidationError("An EIN is 9 digits, like 12-3456789.")
        return ein


class ApplicationForm(EinForm):
    """Step two: what the charity says of itself. charities.services.apply_for_charity
    checks it against the IRS file and decides."""

    name = forms.CharField(label="Charity's name", max_length=200)
    city = forms.CharField(max_length=100)
    state = forms.ChoiceField(choices=[("", "Choose a state"), *STATE_CHOICES])
    zip_code = forms.RegexField(
        label="ZIP code", regex=r"^[0-9]{5}$", required=False, max_length=5,
        error_messages={"invalid": "A ZIP code is 5 digits."},
    )  # fmt: skip
    category = forms.ChoiceField(choices=CATEGORY_CHOICES)
    mission = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=MISSION_MAX_LENGTH,
        help_text=f"What the charity does, in your words (at most {MISSION_MAX_LENGTH:,} "
        "characters). Donors will read it.",
    )
    website = forms.URLField(max_length=300, required=False, assume_scheme="https")
    contact_email = forms.EmailField(
        label="Contact email", max_length=254, help_text="Where donors and our staff write to."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ein"].widget.attrs["readonly"] = True  # changed by going back a step


class ProfileForm(forms.Form):
    """The portal's profile page. The service (charities.services.update_profile) checks
    again and decides what is written and what waits for staff (name, EIN, city, state)."""

    mission = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}), required=False, max_length=2000,
        help_text="What your charity does, in your words. Plain text, up to 2,000 characters.",
    )  # fmt: skip
    gift_line = forms.CharField(
        label="What a gift does", required=False, max_length=160,
        help_text='One line donors read, e.g. "$25 feeds a family for a week."',
    )  # fmt: skip
    website = forms.URLField(required=False, max_length=300, assume_scheme="https")
    contact_email = forms.EmailField(required=False, max_length=254)
    logo = forms.FileField(
        required=False,
        help_text="PNG, JPEG or WebP, up to 2 MB, 64 to 4096 pixels a side. "
        "We store a 512-pixel PNG copy.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )
    name = forms.CharField(max_length=200)
    ein = forms.CharField(label="EIN", required=False, max_length=10)
    city = forms.CharField(max_length=100)
    state = forms.ChoiceField(choices=STATE_CHOICES, widget=FastSelect)

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        logo = data.pop("logo")
        if logo:  # an upload
            data["logo"] = logo
        elif logo is False:  # "clear" ticked
            data["logo"] = None
        return data


class InviteMemberForm(forms.Form):
    email = forms.EmailField(max_length=254)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=MemberRole.choices)
