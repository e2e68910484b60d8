from django.apps import AppConfig
from django.db.models import CharField
from django.db.models.functions import Lower


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self):
        # `city__lower=...` compiles to LOWER(city) = ..., which the functional
        # indexes on Lower("city") serve; iexact would compile to UPPER(...) LIKE.
        CharField.register_lookup(Lower)
