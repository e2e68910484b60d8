import pytest

from tests.local_http import LocalServer


@pytest.fixture
def server():
    """A real HTTP server on 127.0.0.1; set server.routes[path] per test."""
    srv = LocalServer()
    yield srv
    srv.close()
