from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from charities.geocoding import NOT_LOCATED, charities_to_geocode, geocode_charities


class Command(BaseCommand):
    help = (
        "Fill missing charity coordinates: geopy's geocoder (Nominatim by default, one "
        "request per second), falling back to the ZIP's centroid. Coordinates set by hand "
        "are never changed. See charities/geocoding.py."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--offline",
            action="store_true",
            help="Do not call the geocoder: use ZIP centroids only.",
        )
        parser.add_argument(
            "--all",
            action="store_true",
            dest="include_located",
            help="Also redo charities that already have geocoder or ZIP coordinates.",
        )

    def handle(self, *args, offline, include_located, **options):
        charities = list(charities_to_geocode(include_located=include_located))
        try:
            result = geocode_charities(charities, offline=offline)
        except ImproperlyConfigured as exc:
            raise CommandError(f"The geocoder is misconfigured: {exc}") from None
        for line in result.summary_lines():
            self.stdout.write(line)
        if result.counts[NOT_LOCATED]:
            self.stdout.write(
                "Charities not located have no known ZIP: set their coordinates by hand "
                "in the admin (Charities, filter Coordinates: Missing)."
            )
