from django import forms

from core.places import STATE_CHOICES, format_place, parse_place
from core.widgets import FastSelect

from .categories import CATEGORY_CHOICES
from .models import MemberRole
from .services import MISSION_MAX_LENGTH


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
