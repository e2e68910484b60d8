from django.apps import AppConfig


class WebConfig(AppConfig):
    """The site as a whole: the pages that compose several apps (home, the public
    charity pages, /health/), the admin pages that do the same, and the demo seed."""

    name = "web"
    verbose_name = "Site"
