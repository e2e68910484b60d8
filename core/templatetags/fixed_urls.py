"""{% fixed_url 'name' %}: {% url %} for a URL without arguments, reversed once per process.

Django reverses a {% url %} afresh on every render (tens of microseconds each, through the
resolver's per-language tables); the site's navigation has ten of them on every page. A
URL with no arguments is the same until the URLconf or the script prefix changes, both of
which are part of the memo's key (and a changed ROOT_URLCONF setting, as tests do, empties
it). Takes `as var` like {% url %}.
"""

import functools

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import get_script_prefix, get_urlconf, reverse

register = template.Library()


@functools.lru_cache(maxsize=256)
def _reverse(name: str, prefix: str, urlconf) -> str:
    return reverse(name, urlconf=urlconf)


@register.simple_tag
def fixed_url(name: str) -> str:
    return _reverse(name, get_script_prefix(), get_urlconf())


@receiver(setting_changed)
def _forget(*, setting, **kwargs):
    if setting in {"ROOT_URLCONF", "FORCE_SCRIPT_NAME"}:
        _reverse.cache_clear()
