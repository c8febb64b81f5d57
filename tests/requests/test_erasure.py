"""ks_request_erasure end to end: emulators over HTTP, real PostgreSQL, real Airflow runs, the
approval answered as a person would through the HITL handler. Each request is registered first
(address into the vault), and its run is triggered with the reference only."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from urllib.parse import quote, quote_plus

import pytest
import sqlalchemy as sa

from tests.conftest import REPO
from tests.fixtures.dagrun import task_states
from tests.fixtures.sandbox import NOW
from tests.requests.support import (
    APPROVE,
    REJECT,
    evidence,
    holdings,
    person_everywhere,
    register_row,
    registered,
    totals,
    vault_rows,
)


def letter_of(tmp_path, ref: str) -> str:
    return (tmp_path / "exports" / "confirmations" / f"{ref}.txt").read_text()


@pytest.fixture(autouse=True)
def export_base(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_KS_EXPORT_BASE", f"file://{tmp_path}/exports/")


def hitl_subjects(dag_id: str) -> list[str]:
    from airflow import settings  # Airflow's own engine (see tests.requests.scan)

    with settings.get_engine().connect() as conn:
        return [
            r[0]
            for r in conn.execute(
                sa.text(
                    "SELECT h.subject FROM hitl_detail h JOIN task_instance t "
                    "ON t.id = h.ti_id WHERE t.dag_id = :d ORDER BY h.created_at"
                ),
                {"d": dag_id},
            )
        ]


def test_approved_erasure_removes_the_person_everywhere_and_nobody_else(vendors, run_dag, tmp_path):
    person = person_everywhere(vendors)
    before_person, before_totals = holdings(vendors, person), totals(vendors)
    assert all(before_person[k] for k in ("activecampaign", "google", "tawk"))
    ref = "REQ-2026-0001"
    run = run_dag(
        "ks_request_erasure",
        NOW,
        registered(vendors, person["email"], ref),
        answers={**APPROVE, **vendors.tawk_answer()},
    )
    assert str(run.state) == "success", task_states(run)
    assert holdings(vendors, person) == {"activecampaign": 0, "google": 0, "tawk": 0, "website": 0}
    after = totals(vendors)
    assert before_totals["ac"] - after["ac"] == 1
    assert before_totals["google"] - after["google"] == 1
    assert before_totals["tawk"] - after["tawk"] == len(person["chats"])
    row = register_row(vendors, ref)
    assert row["status"] == "completed" and row["approved_by"] == "Olga Ops"
    assert (row["decided_by"], row["decision"]) == ("Olga Ops", "approve")
    assert str(row["due_on"]) == "2026-12-18"
    assert vault_rows(vendors, ref) == 0
    assert [e["details"]["closed_as"] for e in evidence(vendors, "vault.key_destroyed")] == [
        "completed"
    ]
    letter = letter_of(tmp_path, ref)
    assert "gegeven(s) verwijderd op" in letter and "record(s) erased on" in letter
    assert "Processors we informed (GDPR Art. 19): ActiveCampaign" in letter


def test_rejected_erasure_erases_nothing_and_records_who_decided(vendors, run_dag, tmp_path):
    person = person_everywhere(vendors)
    before = holdings(vendors, person)
    ref = "REQ-2026-0002"
    run = run_dag(
        "ks_request_erasure", NOW, registered(vendors, person["email"], ref), answers=REJECT
    )
    assert str(run.state) == "success", task_states(run)
    assert holdings(vendors, person) == before
    row = register_row(vendors, ref)
    assert row["status"] == "rejected"
    assert row["approved_by"] is None  # the rejecter is not an approver
    assert (row["decided_by"], row["decision"]) == ("Olga Ops", "reject")
    assert task_states(run)["activecampaign.apply"] == "skipped"
    assert vault_rows(vendors, ref) == 0
    assert "[Reden invullen.]" in letter_of(tmp_path, ref)


def test_same_reference_twice_does_not_act_twice(vendors, run_dag):
    person = person_everywhere(vendors)
    answers = {**APPROVE, **vendors.tawk_answer()}
    conf = registered(vendors, person["email"], "REQ-2026-0003")
    first = run_dag("ks_request_erasure", NOW, conf, answers=answers)
    assert str(first.state) == "success"
    second = run_dag("ks_request_erasure", NOW, conf, answers=answers)
    assert str(second.state) == "success"
    states = task_states(second)
    assert states["locate"] == "skipped" and states["approve"] == "skipped"
    assert states["finish"] == "skipped"
    assert [e["outcome"] for e in evidence(vendors, "request.duplicate")] == ["completed"]


@pytest.mark.parametrize(
    ("ref", "kind", "message"),
    [
        ("REQ-2026-0777", None, "is not registered"),  # never registered
        ("REQ-2026-0009", "access", "is a access request: trigger ks_request_access"),
        ("Jan Jansen", None, "must look like REQ-2026-0042"),  # a name typed in the form
    ],
)
def test_a_refused_run_is_red_once_with_evidence_naming_the_field(
    vendors, run_dag, task_output, ref, kind, message
):
    person = person_everywhere(vendors)
    if kind:
        registered(vendors, person["email"], ref, kind=kind)
    before = totals(vendors)
    task_output()
    run = run_dag("ks_request_erasure", NOW, {"request_ref": ref})
    assert str(run.state) == "failed"
    states = task_states(run)
    assert states["check"] == "failed"
    assert states["finish"] == "upstream_failed"  # not a second red task
    assert [t for t, s in states.items() if s == "failed"] == ["check"]
    assert totals(vendors) == before
    output = task_output()
    assert message in output
    refused = evidence(vendors, "request.refused")
    assert [e["details"]["field"] for e in refused] == ["request_ref"]
    if kind:  # the other request keeps its own status evidence; the refusal names it aside
        assert refused[0]["record_ref"] is None and refused[0]["details"]["request_ref"] == ref
        assert register_row(vendors, ref)["status"] == "open"
    else:
        assert register_row(vendors, ref) is None


def test_an_address_found_nowhere_closes_as_no_data_found(vendors, run_dag, tmp_path):
    ref = "REQ-2026-0010"
    conf = registered(vendors, "nobody.at.all@example.org", ref)
    run = run_dag("ks_request_erasure", NOW, conf, answers=APPROVE)
    assert str(run.state) == "success", task_states(run)
    assert hitl_subjects("ks_request_erasure")[-1] == (
        f"No data found for request {ref}: close it as such?"
    )
    assert register_row(vendors, ref)["status"] == "no_data_found"
    assert [e["record_ref"] for e in evidence(vendors, "request.no_data_found")] == [ref]
    assert [e["details"]["letter"] for e in evidence(vendors, "letter.written")] == [
        "erasure_no_data_found"
    ]
    letter = letter_of(tmp_path, ref)
    assert "niets gevonden" in letter and "found none" in letter
    assert "erased on" not in letter
    assert vault_rows(vendors, ref) == 0


def test_a_failed_run_leaves_the_request_failed_and_a_new_run_resumes_it(vendors, run_dag):
    """The Tawk confirmation answered "Not deleted": the run fails, the request is `failed`
    with its address still in the vault; a second run with the same reference carries it on."""
    person = person_everywhere(vendors)
    ref = "REQ-2026-0011"
    conf = registered(vendors, person["email"], ref)
    first = run_dag(
        "ks_request_erasure",
        NOW,
        conf,
        answers={**APPROVE, "tawk.confirm_deleted": ("Not deleted", None)},
    )
    assert str(first.state) == "failed"
    assert task_states(first)["finish"] == "failed"
    assert register_row(vendors, ref)["status"] == "failed"
    assert vault_rows(vendors, ref) == 2
    second = run_dag("ks_request_erasure", NOW, conf, answers={**APPROVE, **vendors.tawk_answer()})
    assert str(second.state) == "success", task_states(second)
    row = register_row(vendors, ref)
    assert row["status"] == "completed" and row["run_id"] == second.run_id
    assert holdings(vendors, person)["tawk"] == 0
    assert vault_rows(vendors, ref) == 0


def test_no_personal_data_in_logs_xcom_or_audit_tables(vendors, run_dag, task_output):
    from tests.fixtures.pii import audit_tables_text, found_in, seeded_values, xcom_text

    person = person_everywhere(vendors)
    run = run_dag(
        "ks_request_erasure",
        NOW,
        registered(vendors, person["email"], "REQ-2026-0004"),
        answers={**APPROVE, **vendors.tawk_answer()},
    )
    assert str(run.state) == "success"
    values = seeded_values(vendors)
    assert person["email"] in values and len(values) > 200
    output = task_output()
    assert "EVIDENCE" in output and "erase.outcome" in output  # the logs were really captured
    assert found_in(output, values) == []
    assert found_in(xcom_text(), values) == []
    assert found_in(audit_tables_text(vendors.audit_url), values) == []


def test_the_address_is_masked_in_debug_logs_too(vendors, run_dag, task_output, caplog):
    """At DEBUG, urllib3 logs every URL, and the ActiveCampaign lookup carries the address in
    its query (`?email=...`, percent-encoded): masked in that form as well."""
    person = person_everywhere(vendors)
    caplog.set_level("DEBUG")
    run = run_dag(
        "ks_request_erasure",
        NOW,
        registered(vendors, person["email"], "REQ-2026-0005"),
        answers={**APPROVE, **vendors.tawk_answer()},
    )
    assert str(run.state) == "success"
    output = task_output().lower()
    assert "/api/3/contacts?" in output  # urllib3's DEBUG lines were captured
    email = person["email"]
    for form in (email, quote(email, safe=""), quote_plus(email)):
        assert form.lower() not in output


def _answer_from_a_shell(dag_id: str, option: str, done: list) -> None:
    """What ops do with the printed line: run `python -m devtools.answer` for the waiting run."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not done:
        with create_session() as session:
            waiting = (
                session.query(TaskInstance.run_id)
                .filter_by(dag_id=dag_id, task_id="approve", state="awaiting_input")
                .first()
            )
        if waiting:
            command = [sys.executable, "-m", "devtools.answer", "--dag", dag_id]
            command += ["--run", waiting[0], "--task", "approve", "--option", option]
            command += ["--by", "Olga Ops"]
            env = {**os.environ, "PYTHONPATH": str(REPO)}
            done.append(subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True))
            return
        time.sleep(0.5)


def test_a_run_waiting_for_approval_says_how_to_answer_it_from_a_shell(
    vendors, run_dag, task_output
):
    person = person_everywhere(vendors)
    ref = "REQ-2026-0012"
    conf = registered(vendors, person["email"], ref)
    task_output()
    done: list = []
    shell = threading.Thread(
        target=_answer_from_a_shell, args=("ks_request_erasure", "Reject", done)
    )
    shell.start()
    run = run_dag("ks_request_erasure", NOW, conf)  # nobody answers in the test: the shell does
    shell.join(10)
    output = task_output()
    encoded = quote(run.run_id, safe="")
    assert f"/api/v2/dags/ks_request_erasure/dagRuns/{encoded}/taskInstances/approve/-1/" in output
    assert f"python -m devtools.answer --dag ks_request_erasure --run '{run.run_id}'" in output
    assert done and done[0].returncode == 0, done and done[0].stderr[-2000:]
    assert str(run.state) == "success", task_states(run)
    row = register_row(vendors, ref)
    assert (row["status"], row["decided_by"], row["decision"]) == ("rejected", "Olga Ops", "reject")
