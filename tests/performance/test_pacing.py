"""The client keeps to a vendor's rate and uses it: the limiter lets the documented rate through
(not 15 % less) without ever exceeding it in any one-second window; calls can be kept under way
a few at a time without losing their order or their errors; pages are fetched ahead while the
previous one is decided on; a 429 holds every thread back, not only the one that met it."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from ks_privacy.hooks.vendor_http import in_flight, make_limiter, read_ahead
from ks_privacy.policy import load_policy
from ks_privacy.sources import build_source
from ks_privacy.sources.base import Outcome


@pytest.mark.parametrize(("per_second", "count"), [(100.0, 150), (5.0, 8)])
def test_the_limiter_uses_the_rate_and_never_exceeds_it(per_second, count):
    limiter = make_limiter(per_second)
    stamps = []
    for _ in range(count):
        limiter.try_acquire("vendor")
        stamps.append(time.monotonic())
    used = (count - 1) / per_second / (stamps[-1] - stamps[0])
    assert used >= 0.9, f"only {used:.0%} of the rate"
    window = 0
    for i, stamp in enumerate(stamps):  # any one-second window holds at most the rate
        while stamps[window] <= stamp - 1.0:
            window += 1
        assert i - window + 1 <= per_second


def test_in_flight_keeps_order_limit_and_errors():
    lock = threading.Lock()
    running, most, started = [0], [0], []

    def call(item: int) -> int:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
            started.append(item)
        time.sleep(0.02)
        with lock:
            running[0] -= 1
        if item == 5:
            raise ValueError("vendor said no")
        return item * 10

    got = []
    with pytest.raises(ValueError):
        for result in in_flight(call, list(range(20)), 3):
            got.append(result)
    assert got == [0, 10, 20, 30, 40]  # in order, up to the failed one
    assert 2 <= most[0] <= 3
    assert max(started) < 5 + 3 + 2  # what had not started when it failed never started
    assert list(in_flight(lambda x: x + 1, [1, 2, 3], 1)) == [2, 3, 4]


def test_read_ahead_fetches_the_same_pages_one_ahead_and_raises_where_the_error_is():
    fetched = []

    def pages(fail_at: int | None = None):
        for n in range(6):
            if n == fail_at:
                raise RuntimeError("page failed")
            fetched.append(n)
            yield n

    assert list(read_ahead(pages())) == list(range(6))
    fetched.clear()
    got = []
    with pytest.raises(RuntimeError):
        for page in read_ahead(pages(fail_at=3)):
            got.append(page)
    assert got == [0, 1, 2]
    fetched.clear()
    for page in read_ahead(pages(), depth=1):
        time.sleep(0.05)  # deciding on the page: meanwhile the next one is fetched
        if page == 1:
            break
    time.sleep(0.2)
    assert fetched[:2] == [0, 1] and len(fetched) <= 4  # it stopped soon after the consumer


def test_with_calls_under_way_a_429_still_holds_every_call_back(vendors, monkeypatch):
    conn = json.loads(os.environ["AIRFLOW_CONN_ACTIVECAMPAIGN_DEFAULT"])
    conn["extra"]["max_in_flight"] = 2
    monkeypatch.setenv("AIRFLOW_CONN_ACTIVECAMPAIGN_DEFAULT", json.dumps(conn))
    vendors.control("activecampaign", "rate_limit", {"per_second": 4})
    source = build_source(load_policy(), "activecampaign")
    refs = [str(i) for i in range(1, 13)]
    results = source.erase(refs)
    assert [(r.ref, r.outcome) for r in results] == [(ref, Outcome.ERASED) for ref in refs]
    log = vendors.requests_made("activecampaign")
    limited = [e["time"] for e in log if e["status"] == 429]
    assert limited, "the rate limit was never met: the test proves nothing"
    for at in limited:
        soon = [e for e in log if at < e["time"] < at + 0.95]
        assert len(soon) <= 1, "only a call already under way may follow a 429 at once"


def test_hooks_on_one_account_share_its_pace(vendors, monkeypatch):
    """A sweep's steps each build their own hook; the second one's first call must still wait
    for the first one's pace, or the vendor's one-second window answers it with a 429."""
    conn = json.loads(os.environ["AIRFLOW_CONN_ACTIVECAMPAIGN_DEFAULT"])
    conn["extra"]["requests_per_second"] = 5
    monkeypatch.setenv("AIRFLOW_CONN_ACTIVECAMPAIGN_DEFAULT", json.dumps(conn))
    vendors.control("activecampaign", "rate_limit", {"per_second": 5})
    policy = load_policy()
    first, second = (build_source(policy, "activecampaign") for _ in range(2))
    assert first.hook is not second.hook
    for ref in range(1, 7):  # a step that uses the account's whole rate ...
        first.hook.get_contact(str(ref))
    for ref in range(7, 10):  # ... and the next step, straight after it
        second.hook.get_contact(str(ref))
    log = vendors.requests_made("activecampaign")
    assert len(log) >= 9
    assert [e["status"] for e in log if e["status"] == 429] == []
