"""Signed-in sessions name the backend that logged them in (django.contrib.auth keeps its
dotted path and, on every request, only trusts a path listed in AUTHENTICATION_BACKENDS).
The site's backends moved from Django's and allauth's classes to their subclasses in
accounts.backends; this rewrites each stored session's path so that nobody is signed out
by the change, and drops the session's cached copy (cached_db reads the cache first).
Reversible: the reverse puts the old paths back."""

from importlib import import_module

from django.conf import settings
from django.core.cache import caches
from django.db import migrations

MOVES = {
    "django.contrib.auth.backends.ModelBackend": "accounts.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend": "accounts.backends.AuthenticationBackend",
}
BACKEND_KEY = "_auth_user_backend"  # django.contrib.auth.BACKEND_SESSION_KEY


def move_sessions(apps, moves: dict) -> None:
    Session = apps.get_model("sessions", "Session")
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    for session in Session.objects.iterator(chunk_size=2000):
        store = store_class(session_key=session.session_key)
        data = store.decode(session.session_data)  # {} for data it cannot read
        if data.get(BACKEND_KEY) not in moves:
            continue
        data[BACKEND_KEY] = moves[data[BACKEND_KEY]]
        Session.objects.filter(pk=session.pk).update(session_data=store.encode(data))
        cache_key = getattr(store, "cache_key", None)  # cached_db and cache engines
        if cache_key:
            caches[settings.SESSION_CACHE_ALIAS].delete(cache_key)


def forwards(apps, schema_editor):
    move_sessions(apps, MOVES)


def backwards(apps, schema_editor):
    move_sessions(apps, {new: old for old, new in MOVES.items()})


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("sessions", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=True)]
