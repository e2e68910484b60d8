"""Stub written with the weekly engine so the beat schedule has a task to call. The needs
area owns this module: its own version replaces this one."""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="needs.tasks.refresh_needs")
def refresh_needs() -> None:
    try:
        from needs.services import refresh_needs as service
    except ImportError:
        logger.info("needs.services.refresh_needs does not exist yet: nothing to refresh.")
        return
    service()
