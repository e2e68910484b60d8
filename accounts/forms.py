from django import forms

from core.places import STATE_CHOICES

from .models import User


class ProfileForm(forms.Form):
    """The donor's profile. Validation of the place is the service's (accounts.services.
    resolve_place): the view turns its ValidationError into errors on these fields."""

    name = forms.CharField(label="Your name", max_length=150, required=False)
    zip_code = forms.CharField(
        label="ZIP code",
        max_length=10,
        required=False,
        help_text="Your 5-digit US ZIP code. It fills in your city and state.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "postal-code"}),
    )
    city = forms.CharField(
        label="City",
        max_length=100,
        required=False,
        help_text="Leave city and state blank to take them from the ZIP code.",
        widget=forms.TextInput(attrs={"autocomplete": "address-level2"}),
    )
    state = forms.ChoiceField(
        label="State",
        required=False,
        choices=[("", "(from the ZIP code)"), *STATE_CHOICES],
        widget=forms.Select(attrs={"autocomplete": "address-level1"}),
    )
    wants_report_emails = forms.BooleanField(
        label="Email me the weekly report of where my money went", required=False
    )

    @classmethod
    def for_user(cls, user: User, data=None):
        return cls(
            data,
            label_suffix="",
            initial={
                "name": user.name,
                "zip_code": user.zip_code,
                "city": user.city,
                "state": user.state,
                "wants_report_emails": user.wants_report_emails,
            },
        )

    def service_arguments(self) -> dict:
        """Keyword arguments for accounts.services.update_user.

        A donor who moves usually types only the new ZIP and leaves the old city and state
        in the form; then only the ZIP is passed, so city and state are re-derived from it
        instead of failing as a mismatch.
        """
        data = self.cleaned_data
        args = {"name": data["name"], "wants_report_emails": data["wants_report_emails"]}
        place_changed = {"city", "state"} & set(self.changed_data)
        if ("zip_code" in self.changed_data and not place_changed) or (
            data["zip_code"] and not data["city"] and not data["state"]
        ):
            args["zip_code"] = data["zip_code"]
        else:
            args.update(city=data["city"], state=data["state"], zip_code=data["zip_code"])
        return args
