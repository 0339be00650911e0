"""The HTTP layer retries what is worth retrying (network faults, 429, 5xx, a truncated body),
never other 4xx, honours Retry-After up to a cap, sends the token only to the base URL's scheme,
host and port, and keeps it out of every message."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest
import requests

from aimak.errors import KoboAuthError, KoboError, KoboNotFoundError, KoboUnavailableError
from etl.http import HttpClient, RetryPolicy

TOKEN = "0123456789abcdef0123456789abcdef01234567"
BASE = "https://kf.example.org"


@pytest.fixture()
def slept():
    return []


@pytest.fixture()
def client(slept):
    # the clock is the time slept so far: deadlines are checked without waiting
    return HttpClient(BASE, TOKEN, policy=RetryPolicy(attempts=4, base=0.5, cap=8), sleep=slept.append,
                      clock=lambda: sum(slept), seed=1)


def test_request__retries_5xx_then_returns_the_json(client, requests_mock, slept):
    requests_mock.get(f"{BASE}/api/v2/assets/", [
        {"status_code": 502, "text": "Bad gateway"},
        {"status_code": 504, "text": "Gateway timeout"},
        {"status_code": 200, "json": {"count": 0, "results": []}},
    ])
    response, body = client.request("GET", "api/v2/assets/")
    assert body == {"count": 0, "results": []}
    assert client.retries == 2 and len(slept) == 2
    assert 0.25 <= slept[0] <= 0.5 and 0.5 <= slept[1] <= 1.0  # exponential with jitter
    assert requests_mock.request_history[0].headers["Authorization"] == f"Token {TOKEN}"
    assert requests_mock.request_history[0].headers["User-Agent"].startswith("aimak/")


def test_request__honours_retry_after_on_429(client, requests_mock, slept):
    requests_mock.get(f"{BASE}/x/", [{"status_code": 429, "headers": {"Retry-After": "7"}},
                                     {"status_code": 200, "json": {}}])
    client.request("GET", "x/")
    assert slept == [7.0]


def test_request__retries_a_dropped_connection_and_a_truncated_body(client, requests_mock):
    requests_mock.get(f"{BASE}/x/", [{"exc": requests.exceptions.ChunkedEncodingError("broken")},
                                     {"status_code": 200, "text": '{"results": [{"_id": 1'},
                                     {"status_code": 200, "json": {"ok": True}}])
    assert client.request("GET", "x/")[1] == {"ok": True}
    assert client.retries == 2


@pytest.mark.parametrize(("status", "error"), [(400, KoboError), (401, KoboAuthError),
                                               (403, KoboAuthError), (404, KoboNotFoundError)])
def test_request__never_retries_other_4xx(client, requests_mock, slept, status, error):
    requests_mock.get(f"{BASE}/x/", status_code=status, json={"detail": f"echo {TOKEN}"})
    with pytest.raises(error) as caught:
        client.request("GET", "x/")
    assert client.retries == 0 and slept == []
    assert TOKEN not in str(caught.value)


def test_request__gives_up_after_the_attempts_with_advice_and_no_token(client, requests_mock):
    requests_mock.get(f"{BASE}/ok/", json={})
    client.request("GET", "ok/")  # the server answered once: later faults get every attempt
    requests_mock.get(f"{BASE}/x/", exc=requests.exceptions.ConnectionError(f"refused {TOKEN}"))
    with pytest.raises(KoboUnavailableError) as caught:
        client.request("GET", "x/")
    message = str(caught.value)
    assert "after 4 attempt(s)" in message and "resumes" in message
    assert TOKEN not in message and TOKEN not in repr(client)


def test_request__total_retry_time_is_bounded_by_the_deadline(requests_mock):
    slept: list[float] = []
    http = HttpClient(BASE, TOKEN, policy=RetryPolicy(attempts=1000, base=0.5, cap=4, deadline=30),
                      sleep=slept.append, clock=lambda: sum(slept), seed=3)
    requests_mock.get(f"{BASE}/x/", status_code=503)
    with pytest.raises(KoboUnavailableError) as caught:
        http.request("GET", "x/")
    assert 26 <= sum(slept) <= 30  # stopped at the deadline, not after 1000 attempts
    assert "the server kept answering HTTP 503" in str(caught.value)


def test_request__refused_before_the_server_ever_answered__fails_within_half_a_second(client, slept,
                                                                                 requests_mock):
    refused = requests.exceptions.ConnectionError(ConnectionRefusedError(111, "Connection refused"))
    requests_mock.get(f"{BASE}/x/", exc=refused)
    with pytest.raises(KoboUnavailableError) as caught:
        client.request("GET", "x/")
    assert sum(slept) <= 0.5 and client.retries <= 1
    message = str(caught.value)
    assert "nothing answers at https://kf.example.org (connection refused)" in message
    assert "Is the server running, and are the host and port in KOBO_URL right?" in message


def test_request__unknown_host__says_to_check_the_spelling(client, requests_mock):
    unknown = requests.exceptions.ConnectionError(socket.gaierror(-2, "Name or service not known"))
    requests_mock.get(f"{BASE}/x/", exc=unknown)
    with pytest.raises(KoboUnavailableError, match="host name 'kf.example.org' is not known"):
        client.request("GET", "x/")


def test_request__closed_local_port__suggests_starting_aimak_server():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    http = HttpClient(f"http://127.0.0.1:{port}", TOKEN)
    with pytest.raises(KoboUnavailableError) as caught:
        http.request("GET", "api/v2/assets/")
    assert "connection refused" in str(caught.value) and "aimak server" in str(caught.value)


def test_request__https_to_a_plain_http_server__says_to_use_http(tmp_path):
    import http.server
    import threading

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        http_client = HttpClient(f"https://127.0.0.1:{server.server_port}", TOKEN)
        with pytest.raises(KoboUnavailableError) as caught:
            http_client.request("GET", "api/v2/assets/")
    finally:
        server.shutdown()
        server.server_close()
    message = str(caught.value)
    assert f"https://127.0.0.1:{server.server_port} does not speak https" in message
    assert "Use http:// in KOBO_URL" in message and TOKEN not in message


def test_request__not_retried_when_repeating_is_unsafe(client, requests_mock):
    requests_mock.post(f"{BASE}/api/v2/imports/", status_code=503)
    with pytest.raises(KoboUnavailableError):
        client.request("POST", "api/v2/imports/", retry=False)
    assert requests_mock.call_count == 1


def test_retry_after__capped_so_a_hostile_header_cannot_stall_the_run(requests_mock):
    slept: list[float] = []
    client = HttpClient(BASE, TOKEN, policy=RetryPolicy(attempts=4, deadline=1000), sleep=slept.append,
                        clock=lambda: sum(slept))
    requests_mock.get(f"{BASE}/x/", [{"status_code": 429, "headers": {"Retry-After": "86400"}},
                                     {"status_code": 503, "headers": {"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"}},
                                     {"status_code": 200, "json": {}}])
    client.request("GET", "x/")
    assert slept == [120.0, 120.0]


def test_retry_after__cap_is_a_policy_setting(requests_mock):
    slept = []
    http = HttpClient(BASE, TOKEN, policy=RetryPolicy(attempts=2, max_retry_after=5), sleep=slept.append)
    requests_mock.get(f"{BASE}/x/", [{"status_code": 429, "headers": {"Retry-After": "3600"}},
                                     {"status_code": 200, "json": {}}])
    http.request("GET", "x/")
    assert slept == [5]


@pytest.mark.parametrize("link", [
    "http://kf.example.org/api/v2/assets/?start=2",  # a proxy that forgot X-Forwarded-Proto
    "https://kf.example.org.evil.net/api/v2/assets/?start=2",
    "https://kc.example.org/api/v2/assets/?start=2",
    "https://kf.example.org:8443/api/v2/assets/?start=2",
    "//elsewhere.example.net/api/v2/assets/",
    "ftp://kf.example.org/api/v2/assets/",
])
def test_url__token_never_sent_to_another_scheme_host_or_port(client, requests_mock, link):
    with pytest.raises(KoboError) as caught:
        client.request("GET", link)
    message = str(caught.value)
    assert requests_mock.call_count == 0  # nothing left the machine
    assert "KOBO_URL" in message and "X-Forwarded-Proto" in message
    assert urlsplit(link).hostname in message and TOKEN not in message


def test_url__error_names_the_link_without_credentials_or_query(client):
    with pytest.raises(KoboError) as caught:
        client.url(f"http://admin:{TOKEN}@kf.example.org/api/v2/assets/?token={TOKEN}")
    message = str(caught.value)
    assert "http://kf.example.org/api/v2/assets/" in message
    assert TOKEN not in message and "admin" not in message


@pytest.mark.parametrize("link", ["https://kf.example.org/api/v2/assets/?start=2",
                                  "https://KF.Example.org:443/api/v2/assets/?start=2"])
def test_url__same_origin_links_are_followed(client, link):
    assert client.url(link) == link


def test_list_assets__next_link_to_plain_http_stops_before_sending_the_token(client, requests_mock):
    from etl.kobo import KoboClient

    requests_mock.get(f"{BASE}/api/v2/assets/", json={
        "count": 3, "next": "http://kf.example.org/api/v2/assets/?limit=100&start=2",
        "results": [{"uid": "a1", "asset_type": "survey"}]})
    with pytest.raises(KoboError, match="X-Forwarded-Proto"):
        KoboClient(client).list_assets()
    assert [r.url.split("?")[0] for r in requests_mock.request_history] == [f"{BASE}/api/v2/assets/"]
