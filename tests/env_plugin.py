"""Loaded by pytest before Django (pyproject: ``-p tests.env_plugin``).

Tests run with production-like settings (DEBUG off) and never read a developer's .env,
so a laptop and CI see the same configuration. DATABASE_URL, CELERY_BROKER_URL and
REDIS_URL pass through from the real environment: that is how CI runs the same suite on
PostgreSQL and Redis.
"""

import atexit
import os
import shutil
import tempfile

HERMETIC = {
    "READ_DOT_ENV_FILE": "0",
    "DEBUG": "0",
    "SECRET_KEY": "tests-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
    "SECURE_SSL_REDIRECT": "0",
    "SESSION_COOKIE_SECURE": "0",
    "CSRF_COOKIE_SECURE": "0",
    "SECURE_HSTS_SECONDS": "0",
    "EMAIL_URL": "consolemail://",  # pytest-django swaps in the locmem backend
    "SITE_URL": "http://testserver",
    "NEEDS_FEEDS_ALLOW_PRIVATE": "1",
    "STRIPE_SECRET_KEY": "",
    "STRIPE_PUBLISHABLE_KEY": "",
    "STRIPE_WEBHOOK_SECRET": "",
    "DEMO_BILLING": "1",  # DEBUG is off, so demo billing must be asked for by name
    "EXPLAINER": "",
    "STATIC_MANIFEST": "0",
}

for _name, _value in HERMETIC.items():
    os.environ[_name] = _value
# Uploaded files (logos, the demo's among them) go to a directory of this run, never into
# the checkout's media/; removed when the run ends.
os.environ["MEDIA_ROOT"] = tempfile.mkdtemp(prefix="hometown-test-media-")
atexit.register(shutil.rmtree, os.environ["MEDIA_ROOT"], ignore_errors=True)
# Celery runs tasks in-process in tests; tests that need a real worker start one
# against TEST_REDIS_URL themselves.
os.environ["CELERY_BROKER_URL"] = ""
