"""{% fixed_url 'name' %}: {% url %} for a URL without arguments, reversed once per process.
{% fixed_static 'path' %}: {% static %} for the assets of every page, looked up once per
process.

Django reverses a {% url %} afresh on every render (tens of microseconds each, through the
resolver's per-language tables); the site's navigation has ten of them on every page. A
URL with no arguments is the same until the URLconf or the script prefix changes, both of
which are part of the memo's key (and a changed ROOT_URLCONF setting, as tests do, empties
it). Takes `as var` like {% url %}.

{% static %} asks the app registry whether staticfiles is installed and the storage for the
file's (hashed) name on every call: 20 microseconds each, four times a page. A file's URL is
the same for the life of the process (the manifest is read once at start-up); a changed
STATIC_URL or STORAGES setting (tests) empties the memo, and under DEBUG (the dev server,
where files change) every call asks afresh.
"""

import functools

from django import template
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.templatetags.static import static
from django.urls import get_script_prefix, get_urlconf, reverse

register = template.Library()


@functools.lru_cache(maxsize=256)
def _reverse(name: str, prefix: str, urlconf) -> str:
    return reverse(name, urlconf=urlconf)


@register.simple_tag
def fixed_url(name: str) -> str:
    return _reverse(name, get_script_prefix(), get_urlconf())


@functools.lru_cache(maxsize=256)
def _static(path: str) -> str:
    return static(path)


@register.simple_tag
def fixed_static(path: str) -> str:
    return static(path) if settings.DEBUG else _static(path)


@receiver(setting_changed)
def _forget(*, setting, **kwargs):
    if setting in {"ROOT_URLCONF", "FORCE_SCRIPT_NAME"}:
        _reverse.cache_clear()
    if setting in {"STATIC_URL", "STORAGES", "DEBUG", "INSTALLED_APPS"}:
        _static.cache_clear()
