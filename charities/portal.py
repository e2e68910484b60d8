"""Access to the charity portal (/portal/<charity id>/...): members only.

Every portal view, whichever app it lives in (charities: profile and members; needs:
needs; payouts: money; web: the overview), is wrapped in member_required, which answers
404 to anyone who is not a member of that charity (owner_required: not its owner) before
the view runs, for every method, so a portal URL never tells a stranger whether a charity
exists; anonymous visitors are sent to log in. tests/web/test_portal_access.py walks every
URL of the `portal` namespace to hold this.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404

from .selectors import get_membership


def member_required(view=None, *, owner: bool = False):
    """Decorate a view taking `charity_id`: the view gets request.membership (a
    CharityMember with its charity) or the visitor gets 404."""

    def decorate(view):
        @login_required
        @wraps(view)
        def wrapped(request, charity_id, *args, **kwargs):
            membership = get_membership(request.user, charity_id, owner=owner)
            if membership is None:
                raise Http404("No such charity among yours.")
            request.membership = membership
            return view(request, charity_id, *args, **kwargs)

        return wrapped

    return decorate(view) if view is not None else decorate


def owner_required(view):
    return member_required(view, owner=True)
