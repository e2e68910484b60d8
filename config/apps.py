from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate

from .celery import app as celery_app
from .schedules import install_schedules


def _install_schedules(sender, using="default", **kwargs):
    install_schedules(using=using)


class ProjectConfig(AppConfig):
    """config as an installed app, for what needs the app registry: the beat schedule
    (config.schedules) is installed after every migrate and by `manage.py
    setup_schedules`, and every app's tasks are registered with the Celery app. It has no
    models."""

    name = "config"
    verbose_name = "Configuration"

    def ready(self):
        # Tasks reach each other by name (the weekly run's chord ends in the reports
        # task): register every app's tasks now, not only when a worker starts, so a
        # process that runs tasks in-process (no broker) knows them all too.
        celery_app.autodiscover_tasks(force=True)
        # After every migrate: the beat schedule exists without a separate setup step,
        # and entries edited in the admin are left as they are (see schedules.py). Django
        # sends post_migrate only to apps with models, so this listens for the app whose
        # tables the schedule lives in.
        post_migrate.connect(
            _install_schedules,
            sender=apps.get_app_config("django_celery_beat"),
            dispatch_uid="install_schedules",
        )
