"""The HTTP layer retries what is worth retrying (network faults, 429, 5xx, a truncated body),
never other 4xx, honours Retry-After, and keeps the token out of every message."""

from __future__ import annotations

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
    return HttpClient(BASE, TOKEN, policy=RetryPolicy(attempts=4, base=0.5, cap=8), sleep=slept.append, seed=1)


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
    requests_mock.get(f"{BASE}/x/", exc=requests.exceptions.ConnectionError(f"refused {TOKEN}"))
    with pytest.raises(KoboUnavailableError) as caught:
        client.request("GET", "x/")
    message = str(caught.value)
    assert "after 4 attempt(s)" in message and "resumes" in message
    assert TOKEN not in message and TOKEN not in repr(client)


def test_request__not_retried_when_repeating_is_unsafe(client, requests_mock):
    requests_mock.post(f"{BASE}/api/v2/imports/", status_code=503)
    with pytest.raises(KoboUnavailableError):
        client.request("POST", "api/v2/imports/", retry=False)
    assert requests_mock.call_count == 1
