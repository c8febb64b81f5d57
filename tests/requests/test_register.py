"""The register and the vault without a request run: one set of statuses that every reader
knows (ks_audit_verify passes with a request in each), an address that lives exactly as long as
its request is open, and a vault whose database alone reveals nothing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from ks_privacy.evidence import AuditTrail, RunContext
from ks_privacy.policy import load_policy
from ks_privacy.pseudonym import Pseudonymiser
from ks_privacy.register import Register
from ks_privacy.registration import register_request
from ks_privacy.request_params import InvalidRequest
from ks_privacy.request_status import CLOSED, RequestStatus
from ks_privacy.vault import AddressGone, RequestSecret, Vault
from tests.auditors.conftest import airflow_url
from tests.fixtures.dagrun import task_states
from tests.fixtures.sandbox import PSEUDONYM_KEY

KEY = Pseudonymiser(PSEUDONYM_KEY)
# how a request reaches each status, as the tasks move it
PATHS = {
    RequestStatus.OPEN: [],
    RequestStatus.AWAITING_APPROVAL: ["awaiting_approval"],
    RequestStatus.APPROVED: ["awaiting_approval", "approved"],
    RequestStatus.FAILED: ["awaiting_approval", "approved", "failed"],
    RequestStatus.COMPLETED: ["awaiting_approval", "approved", "completed"],
    RequestStatus.NO_DATA_FOUND: ["awaiting_approval", "approved", "no_data_found"],
    RequestStatus.REJECTED: ["awaiting_approval", "rejected"],
    RequestStatus.REFUSED: ["refused"],
    RequestStatus.TIMED_OUT: ["awaiting_approval", "timed_out"],
    RequestStatus.AWAITING_IDENTITY: [],  # registered from the mailbox (below)
    RequestStatus.IDENTITY_NOT_VERIFIED: ["identity_not_verified"],
}
MAILED = {RequestStatus.AWAITING_IDENTITY, RequestStatus.IDENTITY_NOT_VERIFIED}


def fill_register(engine) -> dict[RequestStatus, str]:
    trail = AuditTrail(engine, RunContext("ks_request_erasure", "manual__1", "t", 1))
    register = Register(trail, 28, Vault(engine, KEY))
    received = datetime.now(UTC).date() - timedelta(days=3)
    refs = {}
    for number, (status, path) in enumerate(PATHS.items(), start=1):
        ref = f"REQ-2026-{number:04d}"
        email = f"person{number}@example.org"
        mailed = status in MAILED
        register.register(
            ref,
            "erasure",
            KEY(email),
            received,
            None if mailed else "Olga",
            "request",
            secret=RequestSecret(email),
            status=RequestStatus.AWAITING_IDENTITY if mailed else RequestStatus.OPEN,
        )
        for step in path:
            register.set_status(ref, step, decided_by="Piet Ops" if step == "rejected" else None)
        refs[status] = ref
    return refs


def test_every_status_is_known_to_ks_audit_verify(
    audit_url, audit_engine, run_dag, monkeypatch, tmp_path
):
    """Issue 15's bug: `approved` (and the statuses added since) failed the daily audit run."""
    assert set(PATHS) == set(RequestStatus)
    monkeypatch.setenv("AIRFLOW_CONN_KS_AUDIT_DB", airflow_url(audit_url))
    monkeypatch.setenv("AIRFLOW_VAR_KS_AUDIT_REPORT_BASE", (tmp_path / "reports").as_uri() + "/")
    refs = fill_register(audit_engine)
    statuses = {r.request_ref: r.status for r in Register(AuditTrail(audit_engine)).all()}
    assert {statuses[ref] for ref in refs.values()} == {str(s) for s in RequestStatus}
    run = run_dag("ks_audit_verify", datetime.now(UTC))
    assert str(run.state) == "success", task_states(run)
    assert task_states(run)["check_requests"] == "success"


def test_the_address_lives_exactly_as_long_as_the_request_is_open(audit_engine):
    refs = fill_register(audit_engine)
    vault = Vault(audit_engine, KEY)
    for status, ref in refs.items():
        if status in CLOSED:
            with pytest.raises(AddressGone):
                vault.read(ref)
        else:
            assert vault.read(ref).email.startswith("person")
    with audit_engine.connect() as conn:
        kept = {r[0] for r in conn.execute(sa.text("SELECT request_ref FROM ks_request_keys"))}
        ciphertexts = conn.execute(sa.text("SELECT count(*) FROM ks_request_vault")).scalar_one()
        destroyed = conn.execute(
            sa.text("SELECT record_ref FROM ks_evidence WHERE event = 'vault.key_destroyed'")
        ).all()
    assert kept == {refs[s] for s in RequestStatus if s not in CLOSED}
    assert ciphertexts == len(kept)
    assert {r[0] for r in destroyed} == {refs[s] for s in CLOSED}


def test_the_audit_database_alone_cannot_open_the_vault(audit_engine):
    """The data key is wrapped with a key derived from the pseudonym key (secrets backend): a
    copy of the audit database with another key reads nothing; the stored bytes hold no trace
    of the address; a ciphertext moved to another request does not decrypt."""
    trail = AuditTrail(audit_engine)
    Register(trail, 28, Vault(audit_engine, KEY)).register(
        "REQ-2026-0001",
        "rectification",
        KEY("anna@example.org"),
        date(2026, 11, 20),
        "Olga",
        secret=RequestSecret("anna@example.org", {"phone": "+31 6 1234 5678"}),
    )
    secret = Vault(audit_engine, KEY).read("REQ-2026-0001")
    assert (secret.email, secret.changes) == ("anna@example.org", {"phone": "+31 6 1234 5678"})
    assert "anna" not in repr(secret)
    from cryptography.exceptions import InvalidTag

    with pytest.raises(InvalidTag):
        Vault(audit_engine, Pseudonymiser("another-key-" + "x" * 32)).read("REQ-2026-0001")
    with audit_engine.begin() as conn:
        stored = [
            bytes(b)
            for row in conn.execute(
                sa.text(
                    "SELECT v.ciphertext, k.wrapped_key FROM ks_request_vault v "
                    "JOIN ks_request_keys k USING (request_ref)"
                )
            )
            for b in row
        ]
        assert stored and all(b"anna" not in b and b"1234" not in b for b in stored)
        conn.execute(sa.text("UPDATE ks_request_vault SET request_ref = 'REQ-2026-0002'"))
        conn.execute(sa.text("UPDATE ks_request_keys SET request_ref = 'REQ-2026-0002'"))
    with pytest.raises(InvalidTag):
        Vault(audit_engine, KEY).read("REQ-2026-0002")


def test_registration_validates_refuses_with_evidence_and_is_idempotent(audit_engine):
    trail = AuditTrail(audit_engine, RunContext(task_id="request register"))
    policy = load_policy()
    good = {
        "subject_email": " Anna@Example.org",
        "request_ref": "REQ-2026-0001",
        "received_on": "2026-11-20",
        "identity_verified": True,
        "identity_verified_by": "Olga Ops",
    }
    first = register_request(trail, KEY, policy, "access", good)
    again = register_request(trail, KEY, policy, "access", good)
    assert first.new and not again.new and first.dag_id == "ks_request_access"
    assert Vault(audit_engine, KEY).read("REQ-2026-0001").email == "anna@example.org"
    refusals = [
        ("erasure", good, "request_ref"),  # the same reference for another kind of request
        ("access", {**good, "subject_email": "bram@example.org"}, "request_ref"),  # another person
        (
            "access",
            {**good, "request_ref": "REQ-2026-0002", "subject_email": "a" * 65 + "@x.nl"},
            "subject_email",
        ),
        (
            "rectification",
            {**good, "request_ref": "REQ-2026-0003", "new_email": "ANNA@example.org"},
            "new_email",
        ),
        ("rectification", {**good, "request_ref": "REQ-2026-0004"}, "changes"),
    ]
    for kind, fields, field in refusals:
        with pytest.raises(InvalidRequest) as refusal:
            register_request(trail, KEY, policy, kind, fields)
        assert refusal.value.field == field
    with audit_engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT record_ref, details FROM ks_evidence "
                "WHERE event = 'request.refused' ORDER BY seq"
            )
        ).all()
        registered = conn.execute(sa.text("SELECT count(*) FROM ks_requests")).scalar_one()
    assert [r[1].split('"field":"')[1].split('"')[0] for r in rows] == [f for *_, f in refusals]
    # refusals about the registered request name it aside, not as their record
    assert [r[0] for r in rows] == [None, None, "REQ-2026-0002", "REQ-2026-0003", "REQ-2026-0004"]
    assert registered == 1


def test_of_two_runs_claiming_a_request_at_once_one_wins(audit_engine):
    trail = AuditTrail(audit_engine, RunContext(task_id="request register"))
    register = Register(trail, 28, Vault(audit_engine, KEY))
    row, _ = register.register(
        "REQ-2026-0001",
        "access",
        KEY("anna@example.org"),
        date(2026, 11, 20),
        "Olga",
        secret=RequestSecret("anna@example.org"),
    )
    # both runs read the row before either claimed it
    first = register.claim("REQ-2026-0001", "ks_request_access", "manual__a", previous=row.run_id)
    second = register.claim("REQ-2026-0001", "ks_request_access", "manual__b", previous=row.run_id)
    assert (first, second) == (True, False)
    assert register.get("REQ-2026-0001").run_id == "manual__a"
    # a later run resuming after manual__a failed claims it from manual__a
    assert register.claim("REQ-2026-0001", "ks_request_access", "manual__c", previous="manual__a")


def test_a_vault_key_removed_early_or_left_after_close_is_found(audit_engine):
    """The vault's key rows are mirrored into the chain: a key deleted by hand while its request
    is open (the address lost before the answer) and a key put back after close (an address
    that should be gone) are both named by the daily checks."""
    from ks_privacy import state_evidence
    from ks_privacy.audit.checks import check_requests

    refs = fill_register(audit_engine)
    open_ref, closed_ref = refs[RequestStatus.OPEN], refs[RequestStatus.COMPLETED]
    assert state_evidence.reconcile(audit_engine)[1] == []
    with audit_engine.begin() as conn:
        kept = (
            conn.execute(
                sa.text("SELECT * FROM ks_request_keys WHERE request_ref = :r"), {"r": open_ref}
            )
            .mappings()
            .one()
        )
        conn.execute(sa.text("DELETE FROM ks_request_keys WHERE request_ref = :r"), {"r": open_ref})
        conn.execute(
            sa.text(
                "INSERT INTO ks_request_keys (request_ref, nonce, wrapped_key, stored_at) "
                "VALUES (:r, :n, :k, :t)"
            ),
            {"r": closed_ref, "n": kept["nonce"], "k": kept["wrapped_key"], "t": kept["stored_at"]},
        )
    mismatches = state_evidence.reconcile(audit_engine)[1]
    assert {(m.table, m.key) for m in mismatches} == {
        ("ks_request_keys", open_ref),
        ("ks_request_keys", closed_ref),
    }
    notes = [f.text for f in check_requests(audit_engine, datetime.now(UTC).date()).findings]
    assert any(closed_ref in n and "still in the vault" in n for n in notes), notes


def test_an_identity_is_confirmed_once_even_when_two_runs_answer_at_once(audit_engine):
    """Two identity runs read `awaiting_identity`; the second to write finds the request moved
    on and is refused, without a second `request.open`."""
    trail = AuditTrail(audit_engine)
    register = Register(trail, 28, Vault(audit_engine, KEY))
    register.register(
        "MAIL-2026-0001",
        "access",
        KEY("twice@example.org"),
        date(2026, 11, 20),
        None,
        secret=RequestSecret("twice@example.org"),
        status=RequestStatus.AWAITING_IDENTITY,
    )
    stale = register.get("MAIL-2026-0001")  # what the slower run read
    register.confirm_identity("MAIL-2026-0001", "Olga Ops")
    register.get = lambda ref: stale  # the slower run still believes it waits
    with pytest.raises(ValueError, match="no longer awaiting"):
        register.confirm_identity("MAIL-2026-0001", "Vera Verifier")
    opened = trail.rows("WHERE event = 'request.open'", {})
    assert [json.loads(r["details"]) for r in opened] == [{"identity_verified_by": "Olga Ops"}]
