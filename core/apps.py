from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self):
        from django.db.models import CharField
        from django.db.models.functions import Lower

        # `city__lower=...` compiles to LOWER(city) = ..., which the functional
        # indexes on Lower("city") serve; iexact would compile to UPPER(...) LIKE.
        CharField.register_lookup(Lower)
