"""Issue 16's proof: after each kind of close, the request's personal values (the address, and a
rectification's new values) are found nowhere the suite controls.

Scanned after the close: every table of Airflow's metadata database (every text and binary
column: dag_run.conf, XCom, HITL details, the audit log, rendered fields, serialized DAGs...),
every file under Airflow's home read raw (the SQLite database and its write-ahead log, task log
files where any are written), the task logs as the run printed them (`dag.test` runs tasks in
process and writes their logs to the output), and every table of the audit database. In the
forms a value takes: as typed, lower case, percent-encoded.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ks_privacy.audit_db import engine_for_url
from ks_privacy.evidence import AuditTrail, RunContext
from ks_privacy.register import Register
from ks_privacy.request_params import InvalidRequest
from tests.fixtures.dagrun import task_states
from tests.fixtures.sandbox import NOW
from tests.requests.scan import forms_of, scan_airflow_metadata, scan_database, scan_files
from tests.requests.support import (
    APPROVE,
    REJECT,
    person_everywhere,
    register,
    register_row,
    registered,
    vault_rows,
)

NEW_PHONE = "+31 6 8765 4321"
NEW_LAST_NAME = "Zwanenburg-Kwakernaak"


@pytest.fixture(autouse=True)
def export_base(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_KS_EXPORT_BASE", f"file://{tmp_path}/exports/")


def close_erasure_completed(vendors, run_dag, person, ref):
    conf = registered(vendors, person["email"], ref)
    run_dag("ks_request_erasure", NOW, conf, answers={**APPROVE, **vendors.tawk_answer()})
    return "completed", [person["email"]]


def close_erasure_rejected(vendors, run_dag, person, ref):
    run_dag("ks_request_erasure", NOW, registered(vendors, person["email"], ref), answers=REJECT)
    return "rejected", [person["email"]]


def close_erasure_no_data_found(vendors, run_dag, person, ref):
    email = "Onbekende.Persoon+vraag@Example.org"
    run_dag("ks_request_erasure", NOW, registered(vendors, email, ref), answers=APPROVE)
    return "no_data_found", [email]


def close_erasure_timed_out(vendors, run_dag, person, ref):
    """Nobody answers the approval: the step ends (here: the test's watchdog, in production its
    response timeout), the run fails with the request open and its address still needed; the
    time-out then closes it (Register.set_status(timed_out), as the human-loop code does)."""
    run = run_dag("ks_request_erasure", NOW, registered(vendors, person["email"], ref), timeout=25)
    assert task_states(run)["approve"] == "failed"
    assert register_row(vendors, ref)["status"] == "failed" and vault_rows(vendors, ref) == 2
    trail = AuditTrail(engine_for_url(vendors.audit_url), RunContext(task_id="approve timeout"))
    Register(trail).set_status(ref, "timed_out")
    return "timed_out", [person["email"]]


def close_access_completed(vendors, run_dag, person, ref):
    run_dag("ks_request_access", NOW, registered(vendors, person["email"], ref, "access"))
    return "completed", [person["email"]]


def close_rectification_completed(vendors, run_dag, person, ref):
    conf = registered(
        vendors,
        person["email"],
        ref,
        "rectification",
        new_phone=NEW_PHONE,
        new_last_name=NEW_LAST_NAME,
    )
    run_dag("ks_request_rectification", NOW, conf)
    return "completed", [person["email"], NEW_PHONE, NEW_LAST_NAME]


def close_rectification_refused(vendors, run_dag, person, ref):
    other = person_everywhere(vendors, skip=1)["email"]
    conf = registered(vendors, person["email"], ref, "rectification", new_email=other)
    run_dag("ks_request_rectification", NOW, conf)
    return "refused", [person["email"], other]


def close_consent_completed(vendors, run_dag, person, ref):
    run_dag("ks_request_consent", NOW, registered(vendors, person["email"], ref, "consent"))
    return "completed", [person["email"]]


def close_refused_at_registration(vendors, run_dag, person, ref):
    with pytest.raises(InvalidRequest):
        register(vendors, "erasure", person["email"], ref, received_on="2030-01-01")
    return None, [person["email"]]


CLOSES = [
    close_erasure_completed,
    close_erasure_rejected,
    close_erasure_no_data_found,
    close_erasure_timed_out,
    close_access_completed,
    close_rectification_completed,
    close_rectification_refused,
    close_consent_completed,
    close_refused_at_registration,
]


@pytest.mark.parametrize("close", CLOSES, ids=lambda f: f.__name__.removeprefix("close_"))
def test_after_the_close_the_address_is_found_nowhere(vendors, run_dag, task_output, close):
    person = person_everywhere(vendors)
    ref = "REQ-2026-0800"
    task_output()
    status, values = close(vendors, run_dag, person, ref)
    output = task_output()
    assert "EVIDENCE" in output  # the task logs were really captured
    row = register_row(vendors, ref)
    assert (row["status"] if row else None) == status
    assert vault_rows(vendors, ref) == 0
    home = Path(os.environ["AIRFLOW_HOME"])
    assert (home / "airflow.db").is_file()  # the raw scan reads the metadata database too
    for value in values:
        found = {
            "airflow metadata": scan_airflow_metadata(value),
            "files under AIRFLOW_HOME": scan_files(home, value),
            "task logs": [f for f in forms_of(value) if f in output.lower()],
            "audit database": scan_database(vendors.audit_url, value),
        }
        assert found == {k: [] for k in found}, f"a value of {ref} outlived its close"
