from django.db.models import QuerySet

from accounts.models import User
from core.validation import id_of

from .models import Report


def get_user_reports(user) -> QuerySet[Report]:
    return Report.objects.filter(user_id=id_of(user, "user", User)).order_by("-week_start")


def get_report(user, report_id) -> Report | None:
    """A donor's own report, or None: another donor's id finds nothing."""
    return Report.objects.filter(
        pk=id_of(report_id, "report_id", Report), user_id=id_of(user, "user", User)
    ).first()


def get_latest_report(user) -> Report | None:
    return get_user_reports(user).first()
