"""Fetching and validating needs feeds against real HTTP servers on 127.0.0.1."""

import pytest

from needs import feeds
from needs.feeds import FeedError, FeedNeed, fetch_feed, parse_feed
from tests.local_http import (
    bytes_route,
    endless_route,
    json_route,
    redirect_route,
    slow_route,
)

GOOD = {"needs": [{"category": "food", "urgency_score": 80, "funding_gap_cents": 1250000}]}


def test_it_reads_a_valid_feed(server):
    server.routes["/feed.json"] = json_route(GOOD)
    assert fetch_feed(server.url("/feed.json")) == [FeedNeed("food", 80, 1250000)]


def test_it_ignores_extra_keys(server):
    server.routes["/feed.json"] = json_route(
        {
            "charity": "Food Shelf",
            "needs": [{"category": "housing", "urgency_score": 0, "funding_gap_cents": 0, "x": 1}],
        }
    )
    assert fetch_feed(server.url("/feed.json")) == [FeedNeed("housing", 0, 0)]


def test_an_empty_list_is_a_valid_feed(server):
    server.routes["/feed.json"] = json_route({"needs": []})
    assert fetch_feed(server.url("/feed.json")) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>not json</html>", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
        (b"[]", '"needs" list'),
        (b'{"need": []}', '"needs" list'),
        (b'{"needs": {"category": "food"}}', "must be a list"),
        (b'{"needs": ["food"]}', "must be an object"),
    ],
)
def test_it_rejects_a_body_that_is_not_a_feed(body, message):
    with pytest.raises(FeedError, match=message):
        parse_feed(body)


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"category": "food trucks", "urgency_score": 1, "funding_gap_cents": 1}, "category"),
        ({"urgency_score": 1, "funding_gap_cents": 1}, "category"),
        ({"category": "food", "urgency_score": "80", "funding_gap_cents": 1}, "whole number"),
        ({"category": "food", "urgency_score": True, "funding_gap_cents": 1}, "whole number"),
        ({"category": "food", "urgency_score": 80.0, "funding_gap_cents": 1}, "whole number"),
        ({"category": "food", "urgency_score": None, "funding_gap_cents": 1}, "whole number"),
        ({"category": "food", "urgency_score": 101, "funding_gap_cents": 1}, "between 0 and 100"),
        ({"category": "food", "urgency_score": -1, "funding_gap_cents": 1}, "between 0 and 100"),
        ({"category": "food", "urgency_score": 5, "funding_gap_cents": -1}, "between 0"),
        ({"category": "food", "urgency_score": 5, "funding_gap_cents": 12.5}, "whole number"),
        ({"category": "food", "urgency_score": 5, "funding_gap_cents": 10**15}, "between 0"),
        ({"category": "food", "urgency_score": 5}, "no 'funding_gap_cents'"),
    ],
)
def test_it_rejects_wrong_types_and_ranges(item, message):
    import json

    with pytest.raises(FeedError, match=message):
        parse_feed(json.dumps({"needs": [item]}).encode())


def test_it_rejects_the_same_category_twice():
    item = {"category": "food", "urgency_score": 5, "funding_gap_cents": 5}
    with pytest.raises(FeedError, match="appears twice"):
        parse_feed(f'{{"needs": [{item}, {item}]}}'.replace("'", '"').encode())


def test_a_server_error_is_a_feed_error(server):
    server.routes["/feed.json"] = bytes_route(b"oops", status=500, content_type="text/plain")
    with pytest.raises(FeedError, match="HTTP 500"):
        fetch_feed(server.url("/feed.json"))


def test_a_missing_feed_is_a_feed_error(server):
    with pytest.raises(FeedError, match="HTTP 404"):
        fetch_feed(server.url("/nothing-here.json"))


def test_a_hung_feed_times_out(server, settings):
    settings.NEEDS_FEED_TIMEOUT = 0.3
    server.routes["/feed.json"] = slow_route(server, 30)
    with pytest.raises(FeedError, match="timed out"):
        fetch_feed(server.url("/feed.json"))


def test_a_body_announced_larger_than_the_limit_is_refused(server, settings):
    settings.NEEDS_FEED_MAX_BYTES = 1000
    server.routes["/feed.json"] = bytes_route(b'{"needs": []}' + b" " * 5000)
    with pytest.raises(FeedError, match="larger than 1000 bytes"):
        fetch_feed(server.url("/feed.json"))


def test_an_endless_body_without_a_length_is_cut_off(server, settings):
    settings.NEEDS_FEED_MAX_BYTES = 100_000
    server.routes["/feed.json"] = endless_route(server)
    with pytest.raises(FeedError, match="larger than 100000 bytes"):
        fetch_feed(server.url("/feed.json"))


def test_it_follows_a_redirect(server):
    server.routes["/old.json"] = redirect_route("/feed.json")
    server.routes["/feed.json"] = json_route(GOOD)
    assert fetch_feed(server.url("/old.json")) == [FeedNeed("food", 80, 1250000)]


def test_it_gives_up_on_a_redirect_loop(server):
    server.routes["/loop.json"] = redirect_route("/loop.json")
    with pytest.raises(FeedError, match="redirects"):
        fetch_feed(server.url("/loop.json"))


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/f.json", "", "http://"])
def test_it_fetches_only_http_and_https_urls(url):
    with pytest.raises(FeedError):
        fetch_feed(url)


# --- the SSRF guard ----------------------------------------------------------------------


@pytest.fixture
def private_refused(settings):
    settings.NEEDS_FEEDS_ALLOW_PRIVATE = False


def test_loopback_is_refused_unless_private_addresses_are_allowed(server, private_refused):
    server.routes["/feed.json"] = json_route(GOOD)
    with pytest.raises(FeedError, match="non-public address"):
        fetch_feed(server.url("/feed.json"))
    assert server.requests == []  # refused before connecting


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",  # noqa: S104 - an address to refuse, not to bind
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",
        "224.0.0.1",
    ],
)
def test_a_host_resolving_to_a_non_public_address_is_refused(
    address, private_refused, monkeypatch
):
    monkeypatch.setattr(feeds, "_resolve", lambda host, port: [address])
    with pytest.raises(FeedError, match="non-public address"):
        fetch_feed("https://feeds.example.org/needs.json")


def test_a_host_is_refused_if_any_of_its_addresses_is_private(private_refused, monkeypatch):
    monkeypatch.setattr(feeds, "_resolve", lambda host, port: ["93.184.216.34", "10.0.0.1"])
    with pytest.raises(FeedError, match=r"10\.0\.0\.1"):
        fetch_feed("https://feeds.example.org/needs.json")


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address):
    assert feeds._address_allowed(address)


def test_a_redirect_to_a_private_address_is_refused(server, private_refused, monkeypatch):
    # The test server itself is on loopback: let exactly that address through, so the
    # check of the redirect's target is what is exercised.
    allowed = feeds._address_allowed
    monkeypatch.setattr(feeds, "_address_allowed", lambda a: a == "127.0.0.1" or allowed(a))
    server.routes["/feed.json"] = redirect_route("http://169.254.169.254/latest/meta-data/")
    with pytest.raises(FeedError, match=r"non-public address \(169.254.169.254\)"):
        fetch_feed(server.url("/feed.json"))
    assert server.requests == ["/feed.json"]


def test_an_unresolvable_host_is_a_feed_error(monkeypatch):
    with pytest.raises(FeedError, match="cannot resolve"):
        fetch_feed("http://no-such-host.invalid/feed.json")


# IPv6 forms that carry an IPv4 address: the IPv4 they carry is what a packet reaches (a
# NAT64 gateway, a 6to4 relay, a Teredo relay or the host's own IPv4 stack), so it is what
# is judged. Offline: the check is on addresses only, nothing is resolved or fetched.
EMBEDDED_IPV4 = [
    # (address, public?, what it is)
    ("::127.0.0.1", False, "IPv4-compatible loopback"),
    ("::10.0.0.1", False, "IPv4-compatible private"),
    ("::169.254.169.254", False, "IPv4-compatible metadata"),
    ("::ffff:127.0.0.1", False, "IPv4-mapped loopback"),
    ("::ffff:0:127.0.0.1", False, "IPv4-translated loopback"),
    ("::ffff:0:192.168.0.1", False, "IPv4-translated private"),
    ("64:ff9b::7f00:1", False, "NAT64 of 127.0.0.1"),
    ("64:ff9b::a9fe:a9fe", False, "NAT64 of 169.254.169.254"),
    ("64:ff9b::a00:1", False, "NAT64 of 10.0.0.1"),
    ("64:ff9b:1::808:808", False, "local-use NAT64 prefix (RFC 8215), never public"),
    ("2002:7f00:1::1", False, "6to4 of 127.0.0.1"),
    ("2002:a9fe:a9fe::1", False, "6to4 of 169.254.169.254"),
    ("2002:c0a8:101::1", False, "6to4 of 192.168.1.1"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", False, "Teredo, client 127.0.0.1"),
    ("2001:0:a00:1:8000:63bf:3fff:fdd2", False, "Teredo, server 10.0.0.1"),
    ("2001:0:808:808:0:0:f7f7:f7f7", False, "Teredo, both public (Teredo is not global)"),
    ("2600:1f18::5efe:a9fe:a9fe", False, "ISATAP interface id of 169.254.169.254"),
    ("2600:1f18::200:5efe:7f00:1", False, "ISATAP interface id of 127.0.0.1"),
    ("::ffff:8.8.8.8", True, "IPv4-mapped public"),
    ("64:ff9b::808:808", True, "NAT64 of 8.8.8.8"),
    ("2002:808:808::1", True, "6to4 of 8.8.8.8"),
    ("2606:4700:4700::1111", True, "plain public IPv6"),
    ("2001:4860:4860::8888", True, "plain public IPv6"),
]


@pytest.mark.parametrize(
    ("address", "public"),
    [(a, p) for a, p, _ in EMBEDDED_IPV4],
    ids=[w for *_, w in EMBEDDED_IPV4],
)
def test_an_ipv6_address_is_judged_by_the_ipv4_address_it_carries(address, public):
    assert feeds._address_allowed(address) is public


@pytest.mark.parametrize("address", ["::127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::1"])
def test_a_host_resolving_to_an_embedded_loopback_is_refused(
    address, private_refused, monkeypatch
):
    monkeypatch.setattr(feeds, "_resolve", lambda host, port: [address])
    with pytest.raises(FeedError, match="non-public address"):
        fetch_feed("https://feeds.example.org/needs.json")
