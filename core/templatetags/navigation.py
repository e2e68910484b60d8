"""{% site_nav %}: the site's navigation (templates/nav.html), rendered once per process
for each kind of visitor and current page, then kept.

The menu is on every page, and rendering it (ten links, the current page marked, the
log-out form) cost 0.27 ms a request here, more than some whole pages (BENCHMARKS.md,
issue 17 part 4). What it shows depends only on the kind of visitor (signed out, signed
in, staff), on which of its links is the page being shown, and on the URLconf and script
prefix; the log-out form's CSRF token is per response and is put in on every use
({% cache_forms %}'s placeholder). A page that is none of the menu's links shares one copy
per kind of visitor. Under DEBUG it renders afresh every time, so template edits show at
once in the dev server.
"""

import functools
import re

from django import template
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.loader import render_to_string
from django.urls import get_script_prefix, get_urlconf

from .fragments import CSRF_PLACEHOLDER, put_csrf_token

register = template.Library()

_HREF = re.compile(r'href="([^"]*)"')


def _render(kind: str, current: str) -> str:
    return render_to_string(
        "nav.html",
        {
            "signed_in": kind != "visitor",
            "staff": kind == "staff",
            "current": current,
            "csrf_token": CSRF_PLACEHOLDER,
        },
    )


@functools.lru_cache(maxsize=64)
def _kept(kind: str, current: str, prefix: str, urlconf) -> str:
    return _render(kind, current)


@functools.lru_cache(maxsize=16)
def _links(kind: str, prefix: str, urlconf) -> frozenset[str]:
    return frozenset(_HREF.findall(_kept(kind, "", prefix, urlconf)))


@register.simple_tag(takes_context=True)
def site_nav(context) -> str:
    user = context.get("user")
    if user is None or not user.is_authenticated:
        kind = "visitor"
    else:
        kind = "staff" if user.is_staff else "donor"
    request = context.get("request")
    path = request.path if request is not None else ""
    if settings.DEBUG:
        return put_csrf_token(_render(kind, path), context)
    prefix, urlconf = get_script_prefix(), get_urlconf()
    current = path if path in _links(kind, prefix, urlconf) else ""
    return put_csrf_token(_kept(kind, current, prefix, urlconf), context)


@receiver(setting_changed)
def _forget(*, setting, **kwargs):
    if setting in {"ROOT_URLCONF", "FORCE_SCRIPT_NAME", "TEMPLATES", "DEBUG"}:
        _kept.cache_clear()
        _links.cache_clear()
