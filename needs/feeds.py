"""Fetching and validating a charity's needs feed.

A feed answers JSON (DESIGN.md):

    {"needs": [{"category": "food", "urgency_score": 80, "funding_gap_cents": 1250000}, ...]}

Extra keys are ignored; anything else is a bad feed and raises FeedError with one
readable line, which the refresh stores in Charity.needs_feed_error.

Feed URLs come from outside, so a fetch is guarded:
- only http and https, at most MAX_REDIRECTS redirects, each one checked again;
- the host name is resolved once, every address it resolves to must be public (not
  loopback, private, link-local, multicast, reserved or unspecified; an IPv6 address that
  carries an IPv4 one, as NAT64, 6to4, Teredo or ::a.b.c.d do, is judged by that IPv4
  address too) unless NEEDS_FEEDS_ALLOW_PRIVATE is set, and the connection goes to the
  address that was checked, so a second DNS answer cannot swap in an internal one (DNS rebinding);
- NEEDS_FEED_TIMEOUT bounds the connect, every read, and the whole download;
- the body is read in chunks and abandoned past NEEDS_FEED_MAX_BYTES.
"""

import http.client
import ipaddress
import json
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from django.conf import settings

from .models import MAX_GAP_CENTS, MAX_URGENCY, NEED_CATEGORY_VALUES

MAX_REDIRECTS = 3
CHUNK = 16 * 1024
USER_AGENT = "HometownFund-needs-feed/1.0"


class FeedError(Exception):
    """A feed that could not be fetched or is not a valid needs feed."""


@dataclass(frozen=True)
class FeedNeed:
    category: str
    urgency_score: int
    funding_gap_cents: int


# --- fetching -----------------------------------------------------------------------------


# IPv6 prefixes that carry an IPv4 address in their last 32 bits: a packet to one of them
# reaches that IPv4 (through the host's stack, a NAT64 gateway ...), so that is judged.
_IPV4_IN_LAST_32_BITS = [
    ipaddress.IPv6Network("::/96"),  # IPv4-compatible (deprecated, RFC 4291)
    ipaddress.IPv6Network("::ffff:0:0/96"),  # IPv4-mapped
    ipaddress.IPv6Network("::ffff:0:0:0/96"),  # IPv4-translated (RFC 2765)
    ipaddress.IPv6Network("64:ff9b::/96"),  # NAT64 well-known prefix (RFC 6052)
]
# Never public, whatever they carry: the local-use NAT64 prefix (RFC 8215), which embeds
# its IPv4 at a place set by each network.
_NEVER_PUBLIC = [ipaddress.IPv6Network("64:ff9b:1::/48")]
_ISATAP_IDS = (0x00005EFE, 0x02005EFE)  # interface id ::0:5efe:w.x.y.z / ::200:5efe:w.x.y.z


def _carried_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, compatible, translated, NAT64,
    6to4, Teredo server and client, ISATAP), which are where its packets end up."""
    value = int(ip)
    carried = []
    if any(ip in net for net in _IPV4_IN_LAST_32_BITS):
        carried.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    if ip.sixtofour is not None:
        carried.append(ip.sixtofour)
    if ip.teredo is not None:
        carried.extend(ip.teredo)
    if (value >> 32) & 0xFFFFFFFF in _ISATAP_IDS:
        carried.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    return carried


def _public(ip) -> bool:
    return ip.is_global and not ip.is_multicast


def _address_allowed(address: str) -> bool:
    """Public, and so is every IPv4 address it carries. Python's is_global alone calls
    ::127.0.0.1, 64:ff9b::7f00:1 or 2002:7f00:1::1 global: the IPv4 inside decides."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv4Address):
        return _public(ip)
    if any(ip in net for net in _NEVER_PUBLIC):
        return False
    carried = _carried_ipv4(ip)
    if carried:
        # The IPv6 prefix itself is only the means of transport (Python calls some of
        # them reserved); Teredo (2001::/32) stays refused, as Python calls it private.
        return all(_public(v4) for v4 in carried) and (ip.teredo is None or _public(ip))
    return _public(ip)


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FeedError(f"cannot resolve host {host!r}: {exc}") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


def _checked_address(host: str, port: int) -> str:
    """The address to connect to, after checking every address the host resolves to."""
    addresses = _resolve(host, port)
    if not addresses:
        raise FeedError(f"host {host!r} has no address")
    if not settings.NEEDS_FEEDS_ALLOW_PRIVATE:
        refused = [a for a in addresses if not _address_allowed(a)]
        if refused:
            raise FeedError(
                f"refused: {host} resolves to a non-public address ({refused[0]}); "
                "feeds must be on the public internet"
            )
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to an address checked beforehand, sending the URL's host name."""

    def __init__(self, host, port, *, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host, port, *, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _split(url: str):
    if not isinstance(url, str) or not url.strip():
        raise FeedError("no feed URL")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise FeedError(f"only http and https feeds are fetched, not {parts.scheme or '?'!r}")
    if not parts.hostname:
        raise FeedError("the feed URL has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise FeedError("the feed URL has a bad port") from None
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return parts.scheme, parts.hostname, port, path


def _read_limited(response, *, max_bytes: int, deadline: float) -> bytes:
    length = response.getheader("Content-Length")
    if length and length.strip().isdigit() and int(length) > max_bytes:
        raise FeedError(f"feed is larger than {max_bytes} bytes ({int(length)} announced)")
    body = bytearray()
    while True:
        if time.monotonic() > deadline:
            raise FeedError("timed out reading the feed")
        chunk = response.read1(CHUNK) if hasattr(response, "read1") else response.read(CHUNK)
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > max_bytes:
            raise FeedError(f"feed is larger than {max_bytes} bytes")


def fetch_feed_body(url: str) -> bytes:
    """The body of a feed URL (HTTP 200 only), or FeedError."""
    timeout = settings.NEEDS_FEED_TIMEOUT
    max_bytes = settings.NEEDS_FEED_MAX_BYTES
    deadline = time.monotonic() + timeout
    for _ in range(MAX_REDIRECTS + 1):
        scheme, host, port, path = _split(url)
        address = _checked_address(host, port)
        cls = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
        conn = cls(host, port, address=address, timeout=timeout)
        try:
            conn.request(
                "GET",
                path,
                headers={"Accept": "application/json", "User-Agent": USER_AGENT},
            )
            response = conn.getresponse()
            if response.status in (301, 302, 303, 307, 308):
                location = response.getheader("Location")
                if not location:
                    raise FeedError(f"HTTP {response.status} without a Location")
                url = urljoin(url, location)
                continue
            if response.status != 200:
                raise FeedError(f"HTTP {response.status} {response.reason}".strip())
            return _read_limited(response, max_bytes=max_bytes, deadline=deadline)
        except TimeoutError:
            raise FeedError(f"timed out after {timeout:g} s") from None
        except ssl.SSLError as exc:
            raise FeedError(f"TLS error: {exc.reason or exc}") from None
        except (OSError, http.client.HTTPException) as exc:
            raise FeedError(f"connection failed: {exc.__class__.__name__}: {exc}") from None
        finally:
            conn.close()
    raise FeedError(f"more than {MAX_REDIRECTS} redirects")


# --- validating ---------------------------------------------------------------------------


def _int_field(item: dict, key: str, index: int, *, lo: int, hi: int) -> int:
    if key not in item:
        raise FeedError(f"needs[{index}] has no {key!r}")
    value = item[key]
    # JSON true is a bool, and bool is an int in Python; 80.0 is not a whole number here.
    if isinstance(value, bool) or not isinstance(value, int):
        raise FeedError(f"needs[{index}].{key} must be a whole number, got {value!r}")
    if not lo <= value <= hi:
        raise FeedError(f"needs[{index}].{key} must be between {lo} and {hi}, got {value}")
    return value


def parse_feed(body: bytes) -> list[FeedNeed]:
    """Validate a feed body against the schema; FeedError names the first problem."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise FeedError("the feed is not valid JSON") from None
    if not isinstance(data, dict) or "needs" not in data:
        raise FeedError('the feed must be a JSON object with a "needs" list')
    items = data["needs"]
    if not isinstance(items, list):
        raise FeedError('"needs" must be a list')
    needs, seen = [], set()
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise FeedError(f"needs[{index}] must be an object")
        category = item.get("category")
        if category not in NEED_CATEGORY_VALUES:
            raise FeedError(
                f"needs[{index}].category {category!r} is not one of: "
                + ", ".join(NEED_CATEGORY_VALUES)
            )
        if category in seen:
            raise FeedError(f"needs[{index}]: category {category!r} appears twice")
        seen.add(category)
        needs.append(
            FeedNeed(
                category=category,
                urgency_score=_int_field(item, "urgency_score", index, lo=0, hi=MAX_URGENCY),
                funding_gap_cents=_int_field(
                    item, "funding_gap_cents", index, lo=0, hi=MAX_GAP_CENTS
                ),
            )
        )
    return needs


def fetch_feed(url: str) -> list[FeedNeed]:
    return parse_feed(fetch_feed_body(url))
