"""Issue 19, end to end: twelve real MIME messages dropped into a real IMAP server; the intake
registers each request once, with its kind and `received_on`, acknowledges it over real SMTP,
leaves the rest in the mailbox for a person; after a person confirms an identity the ID copy is
gone from the mailbox and the request's own DAG runs with the reference. Nothing personal
anywhere Airflow or the audit database keeps things."""

from __future__ import annotations

import os
from email import message_from_bytes, policy
from pathlib import Path

from ks_privacy import runtime
from ks_privacy.audit_db import engine_for_url
from ks_privacy.policy import DEFAULT_POLICY
from tests.fixtures.dagrun import task_states
from tests.fixtures.people import STAFF
from tests.fixtures.sandbox import NOW
from tests.intake.mails import addresses, seeded
from tests.requests.scan import scan_airflow_metadata, scan_database, scan_files
from tests.requests.support import audit_rows, evidence, register_row

CONFIRM = {"confirm_identity": ("Identity confirmed", None)}
REFUSE = {"confirm_identity": ("Not verified", None)}


def _from(raw: bytes) -> str:
    return str(message_from_bytes(raw, policy=policy.default)["From"])


def _triggered(dag_id: str, *refs: str) -> list[dict]:
    """Runs of `dag_id`; with `refs`, only those for these requests (the metadata database also
    holds earlier tests' runs of the request DAGs)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        runs = session.scalars(select(DagRun).where(DagRun.dag_id == dag_id)).all()
        return [
            {"run_id": r.run_id, "conf": dict(r.conf or {}), "type": str(r.run_type)}
            for r in runs
            if not refs or (r.conf or {}).get("request_ref") in refs
        ]


def _ledger(vendors) -> list[dict]:
    return audit_rows(vendors, "SELECT * FROM ks_intake_messages ORDER BY seq")


def test_mailbox_to_register_to_request_run(intake_world, run_dag, tmp_path, monkeypatch):
    vendors, imap, smtp = intake_world
    messages = seeded()
    for message in messages:
        imap.append(message.raw, message.arrived)

    run = run_dag("ks_request_intake", NOW)
    assert str(run.state) == "success", task_states(run)

    # each request registered once, with its kind, its received_on and no verifier yet
    ledger = _ledger(vendors)
    assert len(ledger) == len(messages)
    requests = [m for m in messages if m.kind]
    refs = {}
    for message in requests:
        (entry,) = [
            e
            for e in evidence(vendors, "intake.registered")
            if e["details"]["received_on"] == message.received_on and e["rule"] == message.kind
        ]
        ref = entry["record_ref"]
        row = register_row(vendors, ref)
        assert (row["kind"], str(row["received_on"])) == (message.kind, message.received_on)
        assert row["status"] == "awaiting_identity" and row["identity_verified_by"] is None
        assert entry["details"]["id_copy"] is message.id_copy
        refs[message.name] = ref
    assert register_row(vendors, refs["minor"])["reason"] == "minor"
    assert len(audit_rows(vendors, "SELECT * FROM ks_requests")) == len(requests)

    # the others are left for a person, with the reason
    routed = {e["rule"] for e in evidence(vendors, "intake.routed")}
    assert routed == {m.name for m in messages if not m.kind}

    # acknowledgements (Dutch and English: reference and deadline) and one summary for ops
    mails = smtp.wait_for(len(requests) + 1)
    acks = {m.rcpt_tos[0]: m for m in mails if "Received: your privacy request" in m.subject}
    assert set(acks) == {m.sender for m in requests}
    for message in requests:
        ack, row = acks[message.sender], register_row(vendors, refs[message.name])
        assert refs[message.name] in ack.subject
        assert str(row["due_on"]) in ack.body and "We hebben je verzoek" in ack.body
        assert "We received your request" in ack.body
    (summary,) = [m for m in mails if "Privacy mailbox" in m.subject]
    assert summary.rcpt_tos == (STAFF["olga.ops"]["email"],)
    assert "4 registered, 8 for a person" in summary.subject

    # every message is still in the mailbox; a second run handles none of them again
    assert len(imap.messages()) == len(messages)
    again = run_dag("ks_request_intake", NOW.replace(hour=1))
    assert str(again.state) == "success", task_states(again)
    assert len(smtp.received()) == len(mails)
    assert len(evidence(vendors, "intake.registered")) == len(requests)
    assert len(_ledger(vendors)) == len(messages)

    # one identity check per request was started, with the reference only
    started = {r["conf"]["request_ref"] for r in _triggered("ks_request_identity")}
    assert started == set(refs.values())

    # a person confirms the identity of the access request
    access = refs["access_nl"]
    check = run_dag("ks_request_identity", NOW, {"request_ref": access}, CONFIRM)
    assert str(check.state) == "success", task_states(check)
    row = register_row(vendors, access)
    assert (row["status"], row["identity_verified_by"]) == ("open", "Olga Ops")
    (stripped,) = [raw for raw in imap.messages() if b"zoe.celik@voorbeeld.nl" in raw]
    parsed = message_from_bytes(stripped, policy=policy.default)
    types = [part.get_content_type() for part in parsed.walk()]
    assert "application/pdf" not in types and b"%PDF" not in stripped
    assert (
        "Bijlage verwijderd" in stripped.decode()
        and "Graag wil ik inzage" in parsed.get_body(("plain",)).get_content()
    )
    assert len(imap.messages()) == len(messages)
    (deleted,) = evidence(vendors, "id_copy.deleted", access)
    assert (deleted["outcome"], deleted["details"]["attachments_removed"]) == ("stripped", 1)

    # the request's own DAG was triggered with the reference, and runs with it
    (request_run,) = _triggered("ks_request_access", access)
    assert request_run["conf"] == {"request_ref": access}
    done = run_dag("ks_request_access", NOW, request_run["conf"])
    assert str(done.state) == "success", task_states(done)
    assert register_row(vendors, access)["status"] == "no_data_found"  # not in the sandbox

    # nobody confirms the erasure's identity: closed, the sender told, the ID copy untouched
    erasure = refs["erasure_en"]
    refused = run_dag("ks_request_identity", NOW, {"request_ref": erasure}, REFUSE)
    assert str(refused.state) == "success", task_states(refused)
    assert register_row(vendors, erasure)["status"] == "identity_not_verified"
    reply = [m for m in smtp.received() if m.rcpt_tos == ("bram.dewit@voorbeeld.nl",)][-1]
    assert erasure in reply.subject and "could not confirm your identity" in reply.body
    assert any(b"image/jpeg" in raw for raw in imap.messages())
    assert not _triggered("ks_request_erasure", erasure)

    # a request run started by hand before the identity is confirmed refuses to start
    early = run_dag("ks_request_erasure", NOW, {"request_ref": refs["minor"]})
    assert str(early.state) == "failed"
    refusals = [e["details"] for e in evidence(vendors, "request.refused")]
    assert {"field": "identity_verified", "request_ref": refs["minor"]} in refusals
    assert register_row(vendors, refs["minor"])["status"] == "awaiting_identity"

    # mailbox retention: the messages of closed requests go (here: at once, policy 0 days)
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(
        DEFAULT_POLICY.read_text().replace(
            "mailbox_retention_days: 30", "mailbox_retention_days: 0"
        )
    )
    monkeypatch.setenv("KS_POLICY_PATH", str(policy_file))
    runtime.policy.cache_clear()
    try:
        swept = run_dag("ks_request_intake", NOW.replace(hour=2))
    finally:
        runtime.policy.cache_clear()
    assert str(swept.state) == "success", task_states(swept)
    left = imap.messages()
    assert len(left) == len(messages) - 2
    assert not [raw for raw in left if b"zoe.celik@" in raw or b"bram.dewit@" in raw]
    gone = {e["record_ref"]: e["outcome"] for e in evidence(vendors, "intake.mailbox_deleted")}
    assert gone == {access: "deleted", erasure: "deleted"}

    # the auditors' check finds the register backed by the chain for every mailed request
    from ks_privacy.audit.checks import check_requests

    audited = check_requests(engine_for_url(vendors.audit_url), NOW.date())
    assert {r.request_ref: r.notes for r in audited.rows if r.request_ref in refs.values()} == {
        ref: () for ref in refs.values()
    }

    # nothing personal in Airflow's metadata, the audit database or the task logs
    home = Path(os.environ["AIRFLOW_HOME"])
    personal = addresses(messages) + [p for m in messages for p in m.personal]
    for value in personal:
        assert scan_airflow_metadata(value) == [], value
        assert scan_database(vendors.audit_url, value) == [], value
        assert scan_files(home, value) == [], value
