"""ks_request_erasure end to end: emulators over HTTP, real PostgreSQL, real Airflow runs, the
approval answered as a person would through the HITL handler."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

import pytest
import sqlalchemy as sa

from tests.fixtures.dagrun import task_states
from tests.fixtures.sandbox import NOW

APPROVE = {"approve": ("Approve", None)}
REJECT = {"approve": ("Reject", None)}


def person_everywhere(vendors, held: int = 0) -> dict:
    row = vendors.sql(
        "SELECT person_id, email, ac_id, google_resource, tawk_chat_ids FROM seed_people "
        "WHERE systems = 'activecampaign,google,tawk' AND held = ? AND person_id > 18 "
        "ORDER BY person_id LIMIT 1",
        held,
    )[0]
    return {
        "id": row[0],
        "email": row[1],
        "ac_id": row[2],
        "google": row[3],
        "chats": json.loads(row[4] or "[]"),
    }


def conf(email: str, ref: str = "REQ-2026-0001", **extra) -> dict:
    return {
        "subject_email": email,
        "request_ref": ref,
        "received_on": "2026-11-20",
        "identity_verified": True,
        "identity_verified_by": "Vera Verifier",  # not Olga, who approves (four eyes)
        "reason": "request",
        "dry_run": False,
        **extra,
    }


def holdings(vendors, person: dict) -> dict:
    ids = ",".join("?" * len(person["chats"])) or "''"
    return {
        "activecampaign": vendors.sql(
            "SELECT count(*) FROM ac_contacts WHERE id = ?", person["ac_id"]
        )[0][0],
        "google": vendors.sql(
            "SELECT count(*) FROM g_people WHERE 'people/' || person_id = ?", person["google"]
        )[0][0],
        "tawk": vendors.sql(
            f"SELECT count(*) FROM tawk_chats WHERE id IN ({ids})", *person["chats"]
        )[0][0],
        "website": vendors.website_sql(
            "SELECT count(*) FROM page_events WHERE lower(trim(contact_email)) = :e",
            e=person["email"],
        )[0][0],
    }


def totals(vendors) -> dict:
    return {
        "ac": vendors.sql("SELECT count(*) FROM ac_contacts")[0][0],
        "google": vendors.sql("SELECT count(*) FROM g_people")[0][0],
        "tawk": vendors.sql("SELECT count(*) FROM tawk_chats")[0][0],
    }


def register_row(vendors, ref: str) -> dict | None:
    engine = sa.create_engine(vendors.audit_url)
    try:
        with engine.connect() as conn:
            row = (
                conn.execute(
                    sa.text("SELECT * FROM ks_requests WHERE request_ref = :r"), {"r": ref}
                )
                .mappings()
                .first()
            )
            return dict(row) if row else None
    finally:
        engine.dispose()


def test_approved_erasure_removes_the_person_everywhere_and_nobody_else(vendors, run_dag):
    person = person_everywhere(vendors)
    before_person, before_totals = holdings(vendors, person), totals(vendors)
    assert all(before_person[k] for k in ("activecampaign", "google", "tawk"))
    run = run_dag(
        "ks_request_erasure",
        NOW,
        conf(person["email"]),
        answers={**APPROVE, **vendors.tawk_answer()},
    )
    assert str(run.state) == "success", task_states(run)
    assert holdings(vendors, person) == {"activecampaign": 0, "google": 0, "tawk": 0, "website": 0}
    after = totals(vendors)
    assert before_totals["ac"] - after["ac"] == 1
    assert before_totals["google"] - after["google"] == 1
    assert before_totals["tawk"] - after["tawk"] == len(person["chats"])
    row = register_row(vendors, "REQ-2026-0001")
    assert row["status"] == "completed" and row["approved_by"] == "Olga Ops"
    assert str(row["due_on"]) == "2026-12-18"


def test_rejected_erasure_erases_nothing_and_records_who(vendors, run_dag):
    person = person_everywhere(vendors)
    before = holdings(vendors, person)
    run = run_dag("ks_request_erasure", NOW, conf(person["email"], "REQ-2026-0002"), answers=REJECT)
    assert str(run.state) == "success", task_states(run)
    assert holdings(vendors, person) == before
    row = register_row(vendors, "REQ-2026-0002")
    assert row["status"] == "rejected" and row["approved_by"] == "Olga Ops"
    states = task_states(run)
    assert states["activecampaign.apply"] == "skipped"


def test_same_reference_twice_does_not_act_twice(vendors, run_dag):
    person = person_everywhere(vendors)
    answers = {**APPROVE, **vendors.tawk_answer()}
    first = run_dag(
        "ks_request_erasure", NOW, conf(person["email"], "REQ-2026-0003"), answers=answers
    )
    assert str(first.state) == "success"
    second = run_dag(
        "ks_request_erasure", NOW, conf(person["email"], "REQ-2026-0003"), answers=answers
    )
    assert str(second.state) == "success"
    states = task_states(second)
    assert states["locate"] == "skipped" and states["approve"] == "skipped"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("subject_email", "*@example.nl", "wildcard"),
        ("received_on", "2030-01-01", "future"),
        ("identity_verified", False, "identity_verified"),
    ],
)
def test_refused_request_touches_nothing(vendors, run_dag, field, value, message, task_output):
    person = person_everywhere(vendors)
    before = totals(vendors)
    run = run_dag(
        "ks_request_erasure", NOW, conf(person["email"], "REQ-2026-0009", **{field: value})
    )
    assert str(run.state) == "failed"
    assert task_states(run)["check"] == "failed"
    assert totals(vendors) == before
    assert register_row(vendors, "REQ-2026-0009") is None
    assert message in task_output()


def test_no_personal_data_in_logs_xcom_or_audit_tables(vendors, run_dag, task_output):
    from tests.fixtures.pii import audit_tables_text, found_in, seeded_values, xcom_text

    person = person_everywhere(vendors)
    run = run_dag(
        "ks_request_erasure",
        NOW,
        conf(person["email"], "REQ-2026-0004"),
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
        conf(person["email"], "REQ-2026-0005"),
        answers={**APPROVE, **vendors.tawk_answer()},
    )
    assert str(run.state) == "success"
    output = task_output().lower()
    assert "/api/3/contacts?" in output  # urllib3's DEBUG lines were captured
    email = person["email"]
    for form in (email, quote(email, safe=""), quote_plus(email)):
        assert form.lower() not in output
