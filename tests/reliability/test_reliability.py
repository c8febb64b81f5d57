"""The guarantees under faults, crashes, a missing audit database and ambiguous people:
nothing lost, nothing done twice, nothing done to the wrong person."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter

import pytest
import requests
import sqlalchemy as sa

from ks_privacy import sweep
from ks_privacy.audit_db import AuditUnavailable
from ks_privacy.evidence import AuditTrail
from tests.conftest import REPO
from tests.fixtures.dagrun import task_states
from tests.fixtures.sandbox import NOW
from tests.fixtures.steps import make_step
from tests.requests.support import APPROVE, holdings, person_everywhere, registered, totals
from tests.sweep.test_retention_daily import OVERRIDE, ac_snapshot, expected_ac

FAULTS = {"rate": 0.1, "kinds": ["429", "500", "503", "slow", "reset"], "slow_seconds": 2.5}


def short_timeouts(monkeypatch):
    """A client timeout below the emulators' "slow" delay, so slow answers really time out."""
    for name in ("ACTIVECAMPAIGN_DEFAULT", "GOOGLE_CONTACTS_DEFAULT", "TAWK_DEFAULT"):
        spec = json.loads(os.environ[f"AIRFLOW_CONN_{name}"])
        spec["extra"] = {**spec.get("extra", {}), "timeout": 1.5}
        monkeypatch.setenv(f"AIRFLOW_CONN_{name}", json.dumps(spec))


def inject_faults(vendors, seed: int) -> None:
    for service in ("activecampaign", "google", "tawk"):
        vendors.control(service, "faults", {**FAULTS, "seed": seed})


def faults_served(vendors) -> Counter:
    served: Counter = Counter()
    for service in ("activecampaign", "google", "tawk"):
        served.update(vendors.control(service, "faults")["injected"])
        vendors.control(service, "faults", {"rate": 0})
    return served


def action_evidence(audit_url, run_id: str | None = None) -> list[tuple]:
    engine = sa.create_engine(audit_url)
    where = "AND run_id = :r" if run_id else ""
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.text(
                    "SELECT source, record_ref, event, outcome FROM ks_evidence "
                    f"WHERE (event LIKE '%.intent' OR event LIKE '%.outcome') {where}"
                ),
                {"r": run_id},
            ).all()
    finally:
        engine.dispose()


def assert_one_outcome_per_intent(rows) -> None:
    intents = Counter((s, r, e.split(".")[0]) for s, r, e, _ in rows if e.endswith(".intent"))
    outcomes = Counter((s, r, e.split(".")[0]) for s, r, e, _ in rows if e.endswith(".outcome"))
    assert intents == outcomes, "every intent has exactly one outcome"
    done = Counter(
        (s, r, e.split(".")[0])
        for s, r, e, o in rows
        if e.endswith(".outcome") and o in ("erased", "redacted", "already_absent")
    )
    assert set(done) == set(intents) and max(done.values()) == 1


def test_sweep_under_ten_percent_faults_keeps_every_guarantee(vendors, run_dag, monkeypatch):
    short_timeouts(monkeypatch)
    before = ac_snapshot(vendors)
    _, redacted, kept = expected_ac(before)
    inject_faults(vendors, seed=11)
    run = run_dag("ks_retention_daily", NOW, OVERRIDE, answers=vendors.tawk_answer())
    served = faults_served(vendors)
    assert str(run.state) == "success", task_states(run)
    assert sum(served.values()) >= 10, served
    after = ac_snapshot(vendors)
    assert set(after) == redacted | kept, "0 due records left, 0 records removed that were not due"
    assert all(after[c][0] == "" for c in redacted)
    assert all(after[c][:4] == before[c][:4] for c in kept)
    assert_one_outcome_per_intent(action_evidence(vendors.audit_url, run.run_id))
    assert AuditTrail(make_step(vendors.audit_url, "activecampaign").engine).verify().ok
    print(f"faults served during the sweep: {dict(served)}")


def test_erasure_under_ten_percent_faults_erases_exactly_the_person(vendors, run_dag, monkeypatch):
    short_timeouts(monkeypatch)
    person = person_everywhere(vendors)
    before = totals(vendors)
    inject_faults(vendors, seed=12)
    run = run_dag(
        "ks_request_erasure",
        NOW,
        registered(vendors, person["email"], "REQ-2026-0500"),
        answers={**APPROVE, **vendors.tawk_answer()},
    )
    served = faults_served(vendors)
    assert str(run.state) == "success", task_states(run)
    assert holdings(vendors, person) == {"activecampaign": 0, "google": 0, "tawk": 0, "website": 0}
    after = totals(vendors)
    assert (before["ac"] - after["ac"], before["google"] - after["google"]) == (1, 1)
    assert_one_outcome_per_intent(action_evidence(vendors.audit_url, run.run_id))
    assert AuditTrail(make_step(vendors.audit_url, "activecampaign").engine).verify().ok
    print(f"faults served during the erasure: {dict(served)}")


def test_sigkill_in_the_middle_of_apply_then_retry(vendors):
    step = make_step(vendors.audit_url, "activecampaign")
    sweep.scan(step, full_scan=True)
    before = ac_snapshot(vendors)
    erased, redacted, kept = expected_ac(before)
    vendors.control("activecampaign", "rate_limit", {"per_second": 10})
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.reliability.crash_child",
            vendors.audit_url.render_as_string(hide_password=False),
            "activecampaign",
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # kill once the vendor has carried out a few deletes
            deletes = [
                r for r in vendors.requests_made("activecampaign") if r["method"] == "DELETE"
            ]
            if len(deletes) >= 5:
                break
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL, "the apply process was killed mid-way"
    partial = ac_snapshot(vendors)
    assert erased - set(partial), "it had deleted some contacts"
    assert erased & set(partial), "and not all of them"
    vendors.control("activecampaign", "rate_limit", {"per_second": 200})
    retry = make_step(vendors.audit_url, "activecampaign", try_number=2)
    sweep.apply(retry)
    sweep.verify(retry)
    assert set(ac_snapshot(vendors)) == redacted | kept
    assert_one_outcome_per_intent(action_evidence(vendors.audit_url))
    assert AuditTrail(retry.engine).verify().ok


def test_audit_database_down_at_apply_deletes_nothing(vendors):
    step = make_step(vendors.audit_url, "activecampaign")
    sweep.scan(step, full_scan=True)
    before = ac_snapshot(vendors)
    requests.delete(f"{vendors.sandbox.control_url('activecampaign')}/requests", timeout=5)
    down = make_step(vendors.audit_url.set(port=1), "activecampaign")
    with pytest.raises(AuditUnavailable, match=r"cannot be written.*Nothing was deleted"):
        sweep.apply(down)
    assert ac_snapshot(vendors) == before
    methods = {r["method"] for r in vendors.requests_made("activecampaign")}
    assert methods <= {"GET"}, f"no vendor write without evidence: {methods}"


def test_lookup_is_exact_never_a_substring_search(vendors, run_dag):
    short, long = vendors.sql(
        "SELECT a.email, b.email FROM seed_people a JOIN seed_people b "
        "ON b.email LIKE '%' || a.email AND b.email <> a.email LIMIT 1"
    )[0]
    long_ac = vendors.sql("SELECT ac_id FROM seed_people WHERE email = ?", long)[0][0]
    requests.delete(f"{vendors.sandbox.control_url('activecampaign')}/requests", timeout=5)
    run = run_dag(
        "ks_request_erasure",
        NOW,
        registered(vendors, short, "REQ-2026-0600"),
        answers={**APPROVE, **vendors.tawk_answer()},
    )
    assert str(run.state) == "success", task_states(run)
    assert vendors.sql("SELECT count(*) FROM ac_contacts WHERE id = ?", long_ac) == [(1,)]
    contact_lists = [
        r for r in vendors.requests_made("activecampaign") if r["route"].endswith("/contacts")
    ]
    params = {p for r in contact_lists for p in r["query_keys"]}
    assert "email" in params  # the exact-address filter was used
    assert not params & {"search", "email_like"}, params


def test_two_records_for_one_address_stop_the_request(vendors, run_dag):
    person = person_everywhere(vendors)
    row = vendors.sql(
        "SELECT person_id, version, update_time, given_name, family_name, data FROM g_people "
        "WHERE 'people/' || person_id = ?",
        person["google"],
    )[0]
    with sqlite3.connect(vendors.db_path) as db:  # a duplicate contact, as people make them
        db.execute(
            "INSERT INTO g_people (person_id, version, update_time, given_name, family_name, data) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (row[0] + "9", *row[1:]),
        )
    before = holdings(vendors, person)
    run = run_dag(
        "ks_request_erasure",
        NOW,
        registered(vendors, person["email"], "REQ-2026-0700"),
        answers=APPROVE,
    )
    assert str(run.state) == "failed"
    assert task_states(run)["locate"] == "failed"
    assert holdings(vendors, person) == before
