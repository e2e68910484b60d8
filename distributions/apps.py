from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _install_schedules(sender, using="default", **kwargs):
    from .schedules import install_schedules

    install_schedules(using=using)


class DistributionsConfig(AppConfig):
    name = "distributions"
    verbose_name = "Distributions (money ledger)"

    def ready(self):
        # After every migrate: the beat schedule exists without a separate setup step,
        # and entries edited in the admin are left as they are (see schedules.py).
        post_migrate.connect(_install_schedules, sender=self, dispatch_uid="install_schedules")
