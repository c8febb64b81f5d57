"""The sandbox's own machinery: fault switches as a client sees them, the request log, the
clock, state counts, and what the server prints."""

from __future__ import annotations

import errno
import time

import pytest
import requests

from sandbox import Sandbox
from tests.sandbox.helpers import control


def _ac_get(sb, path="/contacts", timeout=10, **params):
    return requests.get(
        sb.activecampaign_url + path,
        headers={"Api-Token": sb.ac_token},
        params=params,
        timeout=timeout,
    )


@pytest.mark.parametrize(
    ("kind", "status", "shape"),
    [
        ("429", 429, {"message": "Too Many Requests"}),
        ("500", 500, {"message": "Internal Error"}),
        ("503", 503, {"message": "Service Unavailable"}),
    ],
)
def test_status_faults_answer_in_the_vendor_shape(sb, kind, status, shape):
    control(sb, "activecampaign", "faults", json={"rate": 1.0, "kinds": [kind], "seed": 1})
    r = _ac_get(sb)
    assert r.status_code == status and r.json() == shape
    if kind == "429":
        assert r.headers["Retry-After"] == "1"
    control(sb, "activecampaign", "faults", json={"rate": 0})
    assert _ac_get(sb).status_code == 200


def test_google_and_tawk_faults_use_their_own_error_shapes(sb, gapi, tawk):
    control(sb, "google", "faults", json={"rate": 1.0, "kinds": ["503"]})
    r = gapi.get(gapi.base + "/people/me/connections", params={"personFields": "names"}, timeout=10)
    assert r.status_code == 503 and r.json()["error"]["status"] == "UNAVAILABLE"
    control(sb, "tawk", "faults", json={"rate": 1.0, "kinds": ["429"]})
    r = tawk.post(tawk.base + "/chat.list", json={"propertyId": sb.tawk_property_id}, timeout=10)
    assert r.status_code == 429 and r.json() == {
        "ok": False,
        "error": "rate_limited",
        "message": "Too many requests",
    }


def causes(error: BaseException):
    """The error and everything inside it (causes, contexts, urllib3's wrapped arguments)."""
    seen, todo = [], [error]
    while todo:
        current = todo.pop()
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        todo += [current.__cause__, current.__context__]
        todo += [a for a in getattr(current, "args", ()) if isinstance(a, BaseException)]
    return seen


def test_reset_fault_is_a_real_connection_reset(sb):
    control(sb, "activecampaign", "faults", json={"rate": 1.0, "kinds": ["reset"]})
    with pytest.raises(requests.ConnectionError) as raised:
        _ac_get(sb)
    # ECONNRESET: the peer sent RST (a FIN would be RemoteDisconnected, "closed without response")
    assert [e.errno for e in causes(raised.value) if type(e) is ConnectionResetError] == [
        errno.ECONNRESET
    ]
    log = control(sb, "activecampaign", "requests").json()["requests"]
    assert log[-1]["fault"] == "reset" and log[-1]["status"] == 0


def test_slow_fault_outlasts_the_client_timeout_then_carries_out_the_request(sb, db_path):
    control(
        sb, "activecampaign", "faults", json={"rate": 1.0, "kinds": ["slow"], "slow_seconds": 1.0}
    )
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        requests.delete(
            sb.activecampaign_url + "/contacts/9", headers={"Api-Token": sb.ac_token}, timeout=0.3
        )
    assert time.monotonic() - started < 1.0
    control(sb, "activecampaign", "faults", json={"rate": 0})
    time.sleep(1.0)  # the server finishes the request the client gave up on
    assert _ac_get(sb, "/contacts/9").status_code == 404


def test_faults_are_reproducible_from_their_seed(sb):
    def sequence() -> list[int]:
        control(
            sb, "activecampaign", "faults", json={"rate": 0.5, "kinds": ["500", "503"], "seed": 7}
        )
        return [_ac_get(sb, limit=1).status_code for _ in range(20)]

    first, second = sequence(), sequence()
    assert first == second
    assert {500, 503, 200} == set(first)
    assert control(sb, "activecampaign", "faults", json={"rate": 2}).status_code == 400
    assert (
        control(sb, "activecampaign", "faults", json={"rate": 0.1, "kinds": ["boom"]}).status_code
        == 400
    )


def test_request_log_keeps_no_query_values_and_can_be_reset(sb):
    control(sb, "activecampaign", "requests", method="DELETE")
    _ac_get(sb, email="jan@xs4all.nl", limit=1)
    _ac_get(sb, "/contacts/1")
    log = control(sb, "activecampaign", "requests").json()
    assert log["count"] == 2
    first, second = log["requests"]
    assert (
        first["method"] == "GET" and first["path"] == "/api/3/contacts" and first["status"] == 200
    )
    assert first["query_keys"] == ["email", "limit"]
    assert "jan@" not in repr(log)
    assert second["route"] == "/api/3/contacts/{id}" and second["seq"] > first["seq"]
    assert control(sb, "activecampaign", "requests", method="DELETE").json()["cleared"] == 2
    assert control(sb, "activecampaign", "requests").json()["count"] == 0


def test_now_and_state(sb):
    state = control(sb, "google", "state").json()
    assert state["now"] == "2026-11-25T00:00:00Z"
    assert state["tables"]["ac_contacts"] > 0 and state["tables"]["seed_people"] == 150
    assert (
        control(sb, "tawk", "now", json={"advance_days": 30}).json()["now"]
        == "2026-12-25T00:00:00Z"
    )
    assert control(sb, "activecampaign", "now").json()["now"] == "2026-12-25T00:00:00Z"  # one clock
    assert control(sb, "activecampaign", "now", json={"now": "not a date"}).status_code == 400


def test_stdout_shows_route_templates_and_no_personal_data(db_path, capsys):
    with Sandbox(db_path, verbose=True) as sb:
        sb.activecampaign.limiter.configure(None)
        _ac_get(sb, "/contacts", email="zoe@example.nl")
        _ac_get(sb, "/contacts/123456")
    out = capsys.readouterr().out
    assert "activecampaign GET /api/3/contacts 200" in out
    assert "activecampaign GET /api/3/contacts/{id} 404" in out
    assert "zoe@" not in out and "123456" not in out


def test_unknown_vendor_path_is_a_vendor_404(sb):
    r = _ac_get(sb, "/nothing")
    assert r.status_code == 404 and "message" in r.json()
