"""The signed-in user of a request is read with one prepared statement
(accounts.backends, accounts.selectors.get_user_for_session), with Django's rules: only an
existing, active user whose session hash still matches is signed in; and the sessions of
the old backend paths are moved by migration accounts.0002, so nobody is signed out."""

from importlib import import_module

import pytest
from django.apps import apps as global_apps
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.selectors import get_user_for_session
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

migration = import_module("accounts.migrations.0002_sessions_use_own_backends")
SessionStore = import_module(settings.SESSION_ENGINE).SessionStore


def session_for(user, backend: str) -> str:
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = backend
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def signed_in_as(client, session_key):
    client.cookies[settings.SESSION_COOKIE_NAME] = session_key
    response = client.get("/accounts/profile/")
    return response.status_code, response.wsgi_request.user


def test_the_session_user_is_read_with_one_query_and_is_the_whole_user(client, alice):
    client.force_login(alice)
    caches[settings.SESSION_CACHE_ALIAS].clear()
    client.get("/accounts/profile/")  # the session is cached again
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/accounts/profile/")
    assert response.status_code == 200
    user = response.wsgi_request.user
    assert (user.pk, user.email, user.city, user.state) == (
        alice.pk,
        alice.email,
        alice.city,
        alice.state,
    )
    user_queries = [q["sql"] for q in ctx.captured_queries if "accounts_user" in q["sql"]]
    assert len(user_queries) == 1, user_queries


@pytest.mark.parametrize("backend", settings.AUTHENTICATION_BACKENDS)
def test_each_backend_signs_in_an_active_user_and_not_an_inactive_or_gone_one(client, backend):
    user = UserFactory()
    assert signed_in_as(client, session_for(user, backend))[1] == user

    user.is_active = False
    user.save(update_fields=["is_active"])
    status, who = signed_in_as(client, session_for(user, backend))
    assert not who.is_authenticated and status == 302

    gone = UserFactory()
    key = session_for(gone, backend)
    gone.delete()
    assert not signed_in_as(client, key)[1].is_authenticated


def test_a_changed_password_still_signs_the_old_session_out(client):
    user = UserFactory()
    key = session_for(user, settings.AUTHENTICATION_BACKENDS[0])
    user.set_password("a-new-password-of-some-length")
    user.save()
    assert not signed_in_as(client, key)[1].is_authenticated


@pytest.mark.parametrize("value", [None, "1", 0, -3, 1.0, True, 10**12])
def test_anything_but_an_existing_id_finds_no_one(value):
    UserFactory()
    assert get_user_for_session(value) is None


def test_the_migration_moves_old_sessions_to_the_new_backends_and_back(client):
    donor, admin = UserFactory(), UserFactory(is_staff=True)
    old_django = session_for(admin, "django.contrib.auth.backends.ModelBackend")
    old_allauth = session_for(donor, "allauth.account.auth_backends.AuthenticationBackend")
    other = session_for(donor, "somewhere.else.Backend")
    anonymous = SessionStore()
    anonymous["cart"] = "kept"
    anonymous.create()
    Session.objects.create(
        session_key="x" * 32,
        session_data="not a session",
        expire_date=Session.objects.get(pk=other).expire_date,
    )

    # Before: the old paths are not listed, so those sessions are signed out.
    assert not signed_in_as(client, old_django)[1].is_authenticated

    migration.forwards(global_apps, None)

    def backend_of(key):
        return (
            SessionStore()
            .decode(Session.objects.get(pk=key).session_data)
            .get(BACKEND_SESSION_KEY)
        )

    assert backend_of(old_django) == "accounts.backends.ModelBackend"
    assert backend_of(old_allauth) == "accounts.backends.AuthenticationBackend"
    assert backend_of(other) == "somewhere.else.Backend"
    assert SessionStore().decode(Session.objects.get(pk=anonymous.session_key).session_data) == {
        "cart": "kept"
    }
    assert Session.objects.get(pk="x" * 32).session_data == "not a session"
    # Signed in again, including through the cache that held the old copy.
    assert signed_in_as(client, old_django)[1] == admin
    assert signed_in_as(client, old_allauth)[1] == donor

    migration.backwards(global_apps, None)
    assert backend_of(old_django) == "django.contrib.auth.backends.ModelBackend"
    assert backend_of(old_allauth) == "allauth.account.auth_backends.AuthenticationBackend"


@pytest.mark.postgres
def test_on_postgresql_the_user_statement_is_prepared_once_per_connection(client, alice):
    client.force_login(alice)
    for _ in range(3):
        assert client.get("/accounts/profile/").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), max(generic_plans + custom_plans) FROM pg_prepared_statements"
            " WHERE statement LIKE %s",
            ['SELECT %FROM "accounts_user" WHERE "id" = $1%'],
        )
        prepared, runs = cursor.fetchone()
    assert prepared == 1
    assert runs >= 3
