"""The Celery application. Settings come from Django's (CELERY_* names); with no
CELERY_BROKER_URL the tasks run in-process, so nothing here needs Redis on a laptop."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("hometown")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
