"""Configuration (layer 1): settings, URLs, the Celery app and the beat schedule. It
reaches the apps by name only (URL includes, task names, INSTALLED_APPS)."""

from .celery import app as celery_app

__all__ = ("celery_app",)
