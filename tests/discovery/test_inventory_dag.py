"""ks_data_inventory run for real (dag.test, the emulators over HTTP, PostgreSQL evidence) on a
seeded account with custom fields, notes and chat messages: it counts exactly what the seed put
where, finds no personal data in the clean values, and fails, naming them, on a planted BSN, on
categories the statement does not list and on a field the sweep does not treat."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.discovery import truth
from tests.fixtures.dagrun import task_states
from tests.fixtures.pii import found_in, seeded_values, xcom_text
from tests.fixtures.sandbox import NOW

BSN = "111222333"
IBAN = "NL91 ABNA 0417 1643 00"
BIRTH = "1985-03-14"
EMERGENCY = "06-24681357"


@pytest.fixture
def reports(monkeypatch, tmp_path) -> Path:
    folder = tmp_path / "reports"
    monkeypatch.setenv("AIRFLOW_VAR_KS_AUDIT_REPORT_BASE", folder.as_uri() + "/")
    return folder


def evidence(audit_url, run_id: str, event: str) -> list[dict]:
    engine = sa.create_engine(audit_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT source, record_ref, categories, rule, outcome, details "
                    "FROM ks_evidence WHERE run_id = :r AND event = :e ORDER BY seq"
                ),
                {"r": run_id, "e": event},
            ).mappings()
            return [{**r, "details": json.loads(r["details"])} for r in rows]
    finally:
        engine.dispose()


def counted(audit_url, run_id: str) -> Counter:
    """(source, field, category) -> values holding it, as the run's evidence records it."""
    counts: Counter = Counter()
    for row in evidence(audit_url, run_id, "inventory.field"):
        details = row["details"]
        for category, n in details.items():
            if category not in ("field", "values"):
                counts[row["source"], details["field"], category] += n
    return counts


def test_the_seeded_account_is_counted_exactly_and_its_clean_values_hold_nothing(
    vendors, run_dag, reports, task_output
):
    run = run_dag("ks_data_inventory", NOW)
    assert str(run.state) == "success", task_states(run)

    assert counted(vendors.audit_url, run.run_id) == truth.expected_counts(vendors)
    done = {
        r["source"]: r["details"]
        for r in evidence(vendors.audit_url, run.run_id, "inventory.completed")
    }
    assert {s: d["records"] for s, d in done.items()} == truth.records(vendors)
    # every mapped field the seed fills is seen (the clean ones too: company, town, employer)
    fields = {
        (r["source"], r["details"]["field"])
        for r in evidence(vendors.audit_url, run.run_id, "inventory.field")
    }
    assert {
        ("activecampaign", "custom:Bedrijf"),
        ("activecampaign", "custom:Plaats"),
        ("google_contacts", "organizations"),
        ("google_contacts", "urls"),
        ("google_contacts", "userDefined"),
        ("tawk", "messages"),
    } <= fields

    # what the statement does not list but the policy acknowledges is reported, not failed
    findings = {
        (r["outcome"], r["source"], r["details"]["field"], r["categories"])
        for r in evidence(vendors.audit_url, run.run_id, "inventory.finding")
    }
    assert findings == {
        ("acknowledged", "google_contacts", "genders", "gender"),
        ("acknowledged", "website_activity", "contact_email", "email"),
    }
    html = (reports / "inventory" / "latest.html").read_text()
    assert "Every field holds what the statement and the policy say" in html
    assert "custom:Mobiel" in html and "<script" not in html
    output = task_output()
    assert "Data inventory, statement 2018-05-22" in output
    assert "activecampaign    custom:Mobiel" in output
    values = seeded_values(vendors)
    assert found_in(output, values) == []
    assert found_in(xcom_text(), values) == []
    assert found_in(html, values) == []


def plant(vendors) -> dict[str, str]:
    """A BSN and a birth date in a Google contact's notes, an IBAN in an ActiveCampaign note, a
    birth-date custom field and a phone number in a custom field nobody mapped."""
    google_ref, data = vendors.sql("SELECT person_id, data FROM g_people ORDER BY id LIMIT 1")[0]
    person = json.loads(data)
    person["biographies"] = [
        {"value": f"BSN {BSN}, geboren op 14 maart 1985", "contentType": "TEXT_PLAIN"}
    ]
    truth.write(
        vendors.db_path,
        "UPDATE g_people SET data = ? WHERE person_id = ?",
        json.dumps(person),
        google_ref,
    )
    note_id, contact = vendors.sql(
        "SELECT id, contact FROM ac_field_values WHERE field = 4 ORDER BY id LIMIT 1"
    )[0]
    truth.write(
        vendors.db_path,
        "UPDATE ac_field_values SET value = ? WHERE id = ?",
        f"Rekening {IBAN}",
        note_id,
    )
    for fid, title, kind, value in (
        (5, "Geboortedatum", "date", BIRTH),
        (6, "Noodnummer", "text", EMERGENCY),
    ):
        truth.write(
            vendors.db_path,
            "INSERT INTO ac_fields (id, title, type, perstag, ordernum, cdate, udate) "
            "VALUES (?, ?, ?, ?, ?, 0, 0)",
            fid,
            title,
            kind,
            title.upper(),
            fid,
        )
        truth.write(
            vendors.db_path,
            "INSERT INTO ac_field_values (contact, field, value, cdate, udate) "
            "VALUES (?, ?, ?, 0, 0)",
            contact,
            fid,
            value,
        )
    return {"google": f"people/{google_ref}", "contact": str(contact)}


def test_a_planted_bsn_and_unlisted_categories_fail_the_run_by_name(
    vendors, run_dag, reports, task_output
):
    planted = plant(vendors)
    run = run_dag("ks_data_inventory", NOW)
    assert str(run.state) == "failed"
    states = task_states(run)
    assert states["report"] == "failed"
    assert all(s == "success" for t, s in states.items() if t.startswith("classify_"))

    findings = {
        (r["outcome"], r["source"], r["details"]["field"], r["categories"], r["record_ref"])
        for r in evidence(vendors.audit_url, run.run_id, "inventory.finding")
    }
    assert findings == {
        ("bsn", "google_contacts", "biographies", "bsn", planted["google"]),
        ("unlisted", "google_contacts", "biographies", "birth_date", None),
        ("unlisted", "activecampaign", "custom:Notities", "iban", None),
        ("unlisted", "activecampaign", "custom:Geboortedatum", "birth_date", None),
        ("untreated", "activecampaign", "custom:Noodnummer", "phone", None),
        ("acknowledged", "google_contacts", "genders", "gender", None),
        ("acknowledged", "website_activity", "contact_email", "email", None),
    }
    counts = counted(vendors.audit_url, run.run_id)
    assert counts["google_contacts", "biographies", "bsn"] == 1
    assert counts["activecampaign", "custom:Geboortedatum", "birth_date"] == 1
    assert counts["activecampaign", "custom:Noodnummer", "phone"] == 1

    output = task_output()
    assert "the data inventory found what the privacy statement does not allow" in output
    assert f"google_contacts.biographies, record {planted['google']}: a BSN" in output
    assert "custom:Geboortedatum (unmapped): 1 values hold birth_date" in output
    assert (
        "custom:Noodnummer (unmapped): 1 values hold phone, which the sweep does not keep" in output
    )
    for value in (BSN, IBAN, IBAN.replace(" ", ""), EMERGENCY, BIRTH, "14 maart 1985"):
        assert value not in output
        assert value not in xcom_text()
    summary = json.loads((reports / "inventory" / "latest.json").read_text())
    assert summary["ok"] is False
    assert BSN not in json.dumps(summary)


def test_a_sample_is_the_same_records_every_run(vendors, run_dag, reports):
    conf = {"sample_size": 40, "sources": ["activecampaign"]}
    first = run_dag("ks_data_inventory", NOW, conf)
    second = run_dag("ks_data_inventory", NOW.replace(day=26), conf)
    assert str(first.state) == str(second.state) == "success"
    runs = [
        {
            r["source"]: r["details"]
            for r in evidence(vendors.audit_url, run.run_id, "inventory.completed")
        }
        for run in (first, second)
    ]
    assert set(runs[0]) == {"activecampaign"}  # the other sources were skipped
    assert runs[0] == runs[1]
    total = vendors.sql("SELECT count(*) FROM ac_contacts")[0][0]
    assert 20 <= runs[0]["activecampaign"]["records"] <= 70 < total
    assert runs[0]["activecampaign"]["sample_size"] == 40
    assert counted(vendors.audit_url, first.run_id) == counted(vendors.audit_url, second.run_id)
