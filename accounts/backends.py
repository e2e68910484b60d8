"""The site's authentication backends: Django's and allauth's, each reading the signed-in
user for a request with one prepared statement (accounts.selectors.get_user_for_session).

Every signed-in page loads its user from the session on every request. Django's
ModelBackend.get_user builds that query with the ORM (User.objects.get(pk=...)): about
0.5 ms here of a dashboard's 2.5 (BENCHMARKS.md, issue 17 part 4); a statement PostgreSQL
keeps prepared costs 0.15 ms. What the backends check is Django's: the user exists and is
active (user_can_authenticate); the session's auth hash is checked by django.contrib.auth
after this, as for any backend. Authentication itself (passwords, allauth's email login)
is the parent classes', unchanged.

Sessions store the dotted path of the backend that logged the user in; migration
accounts.0002 moved the sessions of the parent classes' paths to these.
"""

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend

from .selectors import get_user_for_session


class _PreparedUserLookup:
    def get_user(self, user_id):
        user = get_user_for_session(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class ModelBackend(_PreparedUserLookup, DjangoModelBackend):
    """django.contrib.auth.backends.ModelBackend (admin login, tests' force_login)."""


class AuthenticationBackend(_PreparedUserLookup, AllauthBackend):
    """allauth.account.auth_backends.AuthenticationBackend (the site's log-in form)."""
