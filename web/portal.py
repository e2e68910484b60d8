"""The charity portal's front pages (/portal/): the charities a user works for, and one
charity's overview (status, members, needs, money). Members only (charities.portal).

The sections (profile, needs, money pages) live with the code they change, each under
/portal/<charity id>/ and each behind the same member check.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from charities.portal import member_required
from charities.selectors import get_memberships
from needs.selectors import counted_needs, get_needs_by_charity
from payouts.selectors import get_charity_money, get_next_payout


@never_cache
@login_required
def home(request):
    memberships = list(get_memberships(request.user))
    return render(request, "web/portal/home.html", {"memberships": memberships})


@never_cache
@member_required
def overview(request, charity_id):
    membership = request.membership
    charity = membership.charity
    now = timezone.now()
    money = get_charity_money(charity)
    needs = get_needs_by_charity(charity)
    current = set(counted_needs(needs, now=now).values_list("pk", flat=True))
    return render(
        request,
        "web/portal/overview.html",
        {
            "membership": membership,
            "charity": charity,
            "members": charity.members.select_related("user").order_by("role", "user__email"),
            "needs": [(need, need.pk in current) for need in needs],
            "money": money,
            "next_payout": get_next_payout(charity, money=money, now=now),
            "max_age_days": settings.NEEDS_MAX_AGE_DAYS,
        },
    )
