"""Access/portability, rectification, consent withdrawal and the deadline report, end to end."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta

import pytest
import sqlalchemy as sa

from ks_privacy.audit_db import engine_for_url
from ks_privacy.evidence import AuditTrail, RunContext
from ks_privacy.register import Register
from tests.fixtures.dagrun import task_states
from tests.fixtures.sandbox import NOW
from tests.requests.test_erasure import conf, person_everywhere


def evidence(vendors, event: str) -> list[dict]:
    engine = sa.create_engine(vendors.audit_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT * FROM ks_evidence WHERE event = :e ORDER BY seq"), {"e": event}
            )
            return [dict(r) for r in rows.mappings()]
    finally:
        engine.dispose()


def test_access_export_holds_everything_on_the_person_and_nobody_else(
    vendors, run_dag, tmp_path, monkeypatch
):
    monkeypatch.setenv("AIRFLOW_VAR_KS_EXPORT_BASE", f"file://{tmp_path}/exports/")
    person = person_everywhere(vendors)
    seeded = vendors.sql(
        "SELECT first_name, last_name, phones FROM seed_people WHERE person_id = ?", person["id"]
    )[0]
    run = run_dag("ks_request_access", NOW, conf(person["email"], "REQ-2026-0100"))
    assert str(run.state) == "success", task_states(run)
    archive = tmp_path / "exports" / "access" / "REQ-2026-0100" / "REQ-2026-0100.zip"
    with zipfile.ZipFile(archive) as zipped:
        names = set(zipped.namelist())
        document = json.loads(zipped.read("export.json"))
        csvs = {
            n: list(csv.DictReader(io.StringIO(zipped.read(n).decode())))
            for n in names - {"export.json"}
        }
    assert names == {
        "export.json",
        "activecampaign.csv",
        "google_contacts.csv",
        "tawk.csv",
        "website_activity.csv",
    }
    text = json.dumps(document, ensure_ascii=False).lower()
    assert person["email"] in text
    assert seeded[0].lower() in text and seeded[1].lower() in text
    for phone in json.loads(seeded[2]):
        assert phone.lower() in text
    others = [
        e
        for (e,) in vendors.sql("SELECT email FROM seed_people WHERE person_id <> ?", person["id"])
    ]
    assert [e for e in others if f'"{e}"' in text] == []
    assert all(len(rows) >= 1 for name, rows in csvs.items() if name != "website_activity.csv")
    written = evidence(vendors, "export.written")[-1]
    import hashlib

    assert (
        json.loads(written["details"])["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
    )


def test_rectification_changes_exactly_the_given_fields(vendors, run_dag):
    person = person_everywhere(vendors)
    before = vendors.sql(
        "SELECT email, first_name, last_name, phone FROM ac_contacts WHERE id = ?", person["ac_id"]
    )[0]
    run = run_dag(
        "ks_request_rectification",
        NOW,
        conf(
            person["email"], "REQ-2026-0200", new_phone="+31 6 9999 0000", new_last_name="Vermeulen"
        ),
    )
    assert str(run.state) == "success", task_states(run)
    after = vendors.sql(
        "SELECT email, first_name, last_name, phone FROM ac_contacts WHERE id = ?", person["ac_id"]
    )[0]
    assert after == (before[0], before[1], "Vermeulen", "+31 6 9999 0000")
    google = json.loads(
        vendors.sql("SELECT data FROM g_people WHERE 'people/' || person_id = ?", person["google"])[
            0
        ][0]
    )
    assert [p["value"] for p in google["phoneNumbers"]] == ["+31 6 9999 0000"]
    assert google["names"][0]["familyName"] == "Vermeulen"
    outcomes = evidence(vendors, "rectify.outcome")
    changed = {(e["source"], e["categories"]) for e in outcomes if e["outcome"] == "rectified"}
    assert ("activecampaign", "last_name,phone") in changed
    assert all("Vermeulen" not in json.dumps(e, default=str) for e in outcomes)


def test_consent_withdrawal_unsubscribes_from_every_list(vendors, run_dag):
    person = person_everywhere(vendors)
    subscribed = vendors.sql(
        "SELECT count(*) FROM ac_contact_lists WHERE contact = ? AND status = 1", person["ac_id"]
    )[0][0]
    run = run_dag("ks_request_consent", NOW, conf(person["email"], "REQ-2026-0300"))
    assert str(run.state) == "success", task_states(run)
    statuses = vendors.sql("SELECT status FROM ac_contact_lists WHERE contact = ?", person["ac_id"])
    assert statuses and {s for (s,) in statuses} == {2}
    details = [
        json.loads(e["details"])
        for e in evidence(vendors, "consent.withdrawn")
        if e["source"] == "activecampaign"
    ]
    assert details[-1]["lists_unsubscribed"] == subscribed
    optouts = vendors.website_sql("SELECT subject_ref FROM tracking_optouts")
    assert len(optouts) == 1 and optouts[0][0].startswith("ps_")


@pytest.mark.parametrize(("age_days", "fails"), [(10, False), (24, False), (40, True)])
def test_deadline_report_flags_overdue_requests(vendors, run_dag, age_days, fails, task_output):
    trail = AuditTrail(engine_for_url(vendors.audit_url), RunContext("test", "seed", "seed", 1))
    received = NOW.date() - timedelta(days=age_days)
    Register(trail).register("REQ-2026-0400", "access", "ps_x", received, "Olga Ops")
    run = run_dag("ks_requests_deadline", NOW)
    assert (str(run.state) == "failed") is fails
    out = task_output()
    assert "REQ-2026-0400" in out
    if fails:
        assert "OVERDUE by 12 d" in out
    elif age_days == 24:
        assert "due in 4 d" in out
