from django import forms
from django.conf import settings


class MapPickerWidget(forms.Widget):
    """A Leaflet map that edits the form's latitude and longitude inputs.

    Leaflet comes from the django-leaflet package's static files; the script is a static
    file too (no inline script, so the Content Security Policy holds in the admin).
    django-leaflet's own form widget is GeoDjango's and needs GDAL; this one does not.
    """

    template_name = "charities/widgets/map_picker.html"

    def __init__(self, *, lat_input="id_latitude", lng_input="id_longitude", attrs=None):
        super().__init__(attrs)
        self.lat_input = lat_input
        self.lng_input = lng_input

    class Media:
        css = {"all": ["leaflet/leaflet.css", "charities/map-picker.css"]}
        js = ["leaflet/leaflet.js", "charities/map-picker.js"]

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"].update(
            lat_input=self.lat_input,
            lng_input=self.lng_input,
            tiles_url=settings.MAP_TILES_URL,
            tiles_attribution=settings.MAP_TILES_ATTRIBUTION,
        )
        return context

    def value_from_datadict(self, data, files, name):
        return None
