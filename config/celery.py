"""The Celery application. Settings come from Django's (CELERY_* names); with no
CELERY_BROKER_URL the tasks run in-process, so nothing here needs Redis on a laptop.

Tasks live in each app's tasks.py (found by autodiscovery): the weekly engine in
portfolio.tasks, reports in reports.tasks, the needs refresh in needs.tasks. The beat
schedule is not defined here but in config/schedules.py, stored in
django-celery-beat's tables (editable in the admin) and run by
`celery -A config beat` with the DatabaseScheduler (settings.CELERY_BEAT_SCHEDULER).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("hometown")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
