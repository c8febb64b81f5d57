"""Unit tests with recorded vendor responses, where the exact exchange is the point: how long a
429 makes us wait, and what a stale-etag update sends the second time."""

from __future__ import annotations

import json
import time

import pytest
import requests

from ks_privacy.hooks import google_contacts, vendor_http
from ks_privacy.hooks.google_contacts import GoogleContactsHook
from ks_privacy.hooks.vendor_http import (
    MAX_RETRY_AFTER,
    ConnectionExtras,
    RetryPolicy,
    VendorAuthError,
    VendorError,
    VendorRetryable,
    VendorSession,
)


def recorded(status: int, body: dict | None = None, headers: dict | None = None):
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body or {}).encode()
    response.headers.update({"Content-Type": "application/json", **(headers or {})})
    return response


class Replay(requests.Session):
    """A session that answers from a list of recorded responses (or raises recorded errors)."""

    def __init__(self, answers):
        super().__init__()
        self.answers = list(answers)
        self.sent: list[tuple[str, str, dict]] = []

    def request(self, method, url, **kwargs):
        self.sent.append((method, url, kwargs))
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


@pytest.fixture
def sleeps(monkeypatch):
    """The waits tenacity asks for, without waiting."""
    waited: list[float] = []
    monkeypatch.setattr(vendor_http.time, "sleep", waited.append)
    return waited


def session(answers, **kwargs) -> VendorSession:
    return VendorSession("ActiveCampaign", "http://vendor", session=Replay(answers), **kwargs)


def test_retry_after_is_waited_exactly(sleeps):
    api = session(
        [recorded(429, {"message": "Too Many Requests"}, {"Retry-After": "3"}), recorded(200)]
    )
    assert api.request("GET", "contacts", "list contacts").status_code == 200
    assert sleeps == [3.0]


def test_retry_after_is_capped(sleeps):
    api = session([recorded(429, headers={"Retry-After": "86400"}), recorded(200)])
    api.request("GET", "contacts", "list contacts")
    assert sleeps == [MAX_RETRY_AFTER]


@pytest.mark.parametrize("header", [None, "Wed, 21 Oct 2026 07:28:00 GMT"])
def test_without_usable_retry_after_backs_off_exponentially(sleeps, header):
    """Google and Tawk send no Retry-After; an HTTP-date falls back to backoff too."""
    headers = {"Retry-After": header} if header else {}
    api = session([recorded(429, headers=headers)] * 3 + [recorded(503), recorded(200)])
    api.request("GET", "contacts", "list contacts")
    assert len(sleeps) == 4
    for attempt, waited in enumerate(sleeps):
        base = 0.5 * 2**attempt
        assert base <= waited <= base + 1.0  # exponential, plus up to a second of jitter


def test_gives_up_after_the_attempts_and_says_so(sleeps):
    api = session([recorded(500)] * 3, retry_policy=RetryPolicy(attempts=3))
    with pytest.raises(VendorRetryable) as raised:
        api.request("GET", "contacts", "list contacts")
    assert raised.value.status == 500 and len(sleeps) == 2


def test_network_errors_are_retried_and_then_reported_without_the_url(sleeps):
    url_error = requests.ConnectionError(
        "HTTPConnectionPool(host='vendor'): Max retries exceeded with url: "
        "/contacts?email=jan%40xs4all.nl"
    )
    api = session([url_error, requests.ReadTimeout("read timed out"), recorded(200)])
    assert api.request("GET", "contacts", "find contact").status_code == 200
    api = session([url_error, url_error], retry_policy=RetryPolicy(attempts=2))
    with pytest.raises(VendorRetryable) as raised:
        api.request("GET", "contacts", "find contact")
    assert str(raised.value) == (
        "ActiveCampaign find contact failed: connection failed (ConnectionError)"
    )
    assert raised.value.__suppress_context__


def test_auth_errors_are_not_retried(sleeps):
    api = session([recorded(403, {"message": "Forbidden"}), recorded(200)])
    with pytest.raises(VendorAuthError):
        api.request("GET", "contacts", "list contacts")
    assert sleeps == [] and len(api.session.answers) == 1


def test_retry_policy_from_connection_extras():
    def extras(**values) -> ConnectionExtras:
        return ConnectionExtras("ActiveCampaign", "ac", values.get)

    assert RetryPolicy.from_extras(extras()) == RetryPolicy()
    assert RetryPolicy.from_extras(extras(retry_attempts="", retry_max_seconds=None)) == (
        RetryPolicy()
    )
    policy = RetryPolicy.from_extras(extras(retry_attempts="2", retry_max_seconds=9))
    assert (policy.attempts, policy.max_seconds) == (2, 9.0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("retry_attempts", "many"),
        ("retry_attempts", 0),
        ("retry_attempts", "2.5"),
        ("retry_max_seconds", "-1"),
        ("retry_max_seconds", "nan"),
    ],
)
def test_a_bad_retry_extra_is_refused_by_name(field, value):
    extras = ConnectionExtras("ActiveCampaign", "ac", {field: value}.get)
    with pytest.raises(VendorError) as raised:
        RetryPolicy.from_extras(extras)
    assert f"connection 'ac' extra `{field}` must be" in str(raised.value)
    assert str(value) not in str(raised.value).split("must be", 1)[1]


def test_stale_etag_update_reads_again_and_sends_the_new_etag(sleeps, monkeypatch):
    """People API updateContact, recorded: our etag went stale (400 FAILED_PRECONDITION); the
    hook reads the contact again and sends the new etag and contact source."""
    name = "people/c123"

    def person(version: int) -> dict:
        return {
            "resourceName": name,
            "etag": f"%person-{version}",
            "metadata": {
                "sources": [
                    {"type": "CONTACT", "id": "7b", "etag": f"#source-{version}"},
                    {"type": "PROFILE", "id": "9"},
                ]
            },
        }

    stale = recorded(
        400,
        {
            "error": {
                "code": 400,
                "message": "... person.etag is different ...",
                "status": "FAILED_PRECONDITION",
            }
        },
    )
    replay = Replay(
        [
            recorded(200, person(1)),
            stale,
            recorded(200, person(2)),
            recorded(200, {"resourceName": name, "metadata": {}}),
        ]
    )
    conn = {"conn_type": "google_cloud_platform", "extra": {"subject": "ops@example.com"}}
    monkeypatch.setenv("AIRFLOW_CONN_GOOGLE_CONTACTS_DEFAULT", json.dumps(conn))
    hook = GoogleContactsHook()
    hook.__dict__["api"] = VendorSession(
        "Google People",
        "http://people",
        session=replay,
        error_detail=google_contacts._error_detail,
    )
    hook.update_fields(name, {"phoneNumbers": []})
    methods = [(m, url.removeprefix("http://people/")) for m, url, _ in replay.sent]
    assert methods == [
        ("GET", f"v1/{name}"),
        ("PATCH", f"v1/{name}:updateContact"),
        ("GET", f"v1/{name}"),
        ("PATCH", f"v1/{name}:updateContact"),
    ]
    first, second = replay.sent[1][2], replay.sent[3][2]
    assert first["json"]["etag"] == "%person-1"
    assert second["json"] == {
        "etag": "%person-2",
        "metadata": {"sources": [{"type": "CONTACT", "id": "7b", "etag": "#source-2"}]},
    }
    assert second["params"]["updatePersonFields"] == "phoneNumbers"
    assert sum(sleeps) == 0  # a stale etag is not a rate limit: read again at once


@pytest.mark.parametrize(("per_second", "count"), [(5.0, 4), (50.0, 6), (0.8, 2)])
def test_client_pacing_spaces_requests_evenly(per_second, count):
    """The client keeps to the vendor's rate by itself, one request per 1/rate seconds."""
    limiter = vendor_http.make_limiter(per_second)
    started = time.monotonic()
    for _ in range(count):
        limiter.try_acquire("vendor")
    elapsed = time.monotonic() - started
    expected = (count - 1) / per_second
    assert expected * 0.9 <= elapsed <= expected * 1.3 + 0.05
