"""A real HTTP server on 127.0.0.1 for tests that fetch URLs (needs feeds, the geocoder).

Routes map a path to a function(handler) that answers the request; `json_route`,
`status_route`, `slow_route`... build the common ones. The server runs in a thread and
is shut down when the test ends. Nothing here reaches the internet.
"""

import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        path = urlsplit(self.path).path
        self.server.requests.append(self.path)
        route = self.server.routes.get(path)
        if route is None:
            self.send_error(404)
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            route(self)

    def do_POST(self):
        # The request's body, for routes that read it (a fake chat-completions server).
        self.body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.bodies.append(self.body)
        self.do_GET()

    def log_message(self, format, *args):  # keep test output quiet
        pass


class LocalServer:
    def __init__(self):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.routes = {}
        self.httpd.requests = []
        self.httpd.bodies = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def routes(self) -> dict:
        return self.httpd.routes

    @property
    def requests(self) -> list[str]:
        return self.httpd.requests

    def url(self, path: str) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}{path}"

    def close(self):
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def send(handler, status: int, body: bytes, content_type="application/json", headers=None):
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def json_route(data, status=200):
    body = json.dumps(data).encode()
    return lambda h: send(h, status, body)


def bytes_route(body: bytes, status=200, content_type="application/json"):
    return lambda h: send(h, status, body, content_type)


def redirect_route(location: str, status=302):
    return lambda h: send(h, status, b"", headers={"Location": location})


def slow_route(server: LocalServer, seconds: float):
    """Answers nothing until `seconds` pass (or the server stops): a hung feed."""

    def route(handler):
        server.stopping.wait(seconds)
        send(handler, 200, b'{"needs": []}')

    return route


def endless_route(server: LocalServer, chunk: bytes = b" " * 65536):
    """Streams a body with no Content-Length, forever: a huge feed."""

    def route(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.end_headers()
        handler.wfile.write(b'{"needs": [')
        deadline = time.monotonic() + 30
        while not server.stopping.is_set() and time.monotonic() < deadline:
            handler.wfile.write(chunk)

    return route
