"""Access/portability, rectification, consent withdrawal and the deadline report, end to end."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from datetime import timedelta

import pytest

from ks_privacy.audit_db import engine_for_url
from ks_privacy.evidence import AuditTrail, RunContext
from ks_privacy.register import Register
from tests.fixtures.dagrun import task_states
from tests.fixtures.sandbox import NOW
from tests.requests.support import (
    evidence,
    person_everywhere,
    register_row,
    registered,
    vault_rows,
)


@pytest.fixture(autouse=True)
def exports(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_KS_EXPORT_BASE", f"file://{tmp_path}/exports/")
    return tmp_path / "exports"


def ac_contact(vendors, ac_id) -> tuple:
    return vendors.sql(
        "SELECT email, first_name, last_name, phone FROM ac_contacts WHERE id = ?", ac_id
    )[0]


def google_person(vendors, resource) -> dict:
    rows = vendors.sql("SELECT data FROM g_people WHERE 'people/' || person_id = ?", resource)
    return json.loads(rows[0][0])


def test_access_export_holds_everything_on_the_person_and_nobody_else(vendors, run_dag, exports):
    person = person_everywhere(vendors)
    seeded = vendors.sql(
        "SELECT first_name, last_name, phones FROM seed_people WHERE person_id = ?", person["id"]
    )[0]
    ref = "REQ-2026-0100"
    run = run_dag("ks_request_access", NOW, registered(vendors, person["email"], ref, "access"))
    assert str(run.state) == "success", task_states(run)
    archive = exports / "access" / ref / f"{ref}.zip"
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
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert evidence(vendors, "export.written")[-1]["details"]["sha256"] == digest
    # the letter fits the request: what the export holds and how to get it, not an erasure text
    letter = (exports / "confirmations" / f"{ref}.txt").read_text()
    assert f"{ref}.zip" in letter and digest in letter
    assert "ActiveCampaign e-mail: 1 record(s)" in letter
    assert "download link" in letter and "downloadlink" in letter
    assert "erased" not in letter and "informed" not in letter
    assert register_row(vendors, ref)["status"] == "completed"
    assert vault_rows(vendors, ref) == 0


def test_access_for_an_unknown_address_closes_as_no_data_found(vendors, run_dag, exports):
    ref = "REQ-2026-0101"
    run = run_dag(
        "ks_request_access", NOW, registered(vendors, "niemand@example.org", ref, "access")
    )
    assert str(run.state) == "success", task_states(run)
    assert not (exports / "access" / ref).exists()  # no empty export
    assert register_row(vendors, ref)["status"] == "no_data_found"
    assert [e["record_ref"] for e in evidence(vendors, "request.no_data_found")] == [ref]
    assert [e["details"]["letter"] for e in evidence(vendors, "letter.written")] == [
        "access_no_data_found"
    ]
    letter = (exports / "confirmations" / f"{ref}.txt").read_text()
    assert "we hold no data on you under that address" in letter
    assert "wij hebben geen gegevens van u" in letter


def test_rectification_changes_exactly_the_given_fields(vendors, run_dag, exports):
    person = person_everywhere(vendors)
    before = ac_contact(vendors, person["ac_id"])
    given_name = google_person(vendors, person["google"])["names"][0]["givenName"]
    ref = "REQ-2026-0200"
    conf = registered(
        vendors,
        person["email"],
        ref,
        "rectification",
        new_phone="+31 6 9999 0000",
        new_last_name="Vermeulen",
    )
    run = run_dag("ks_request_rectification", NOW, conf)
    assert str(run.state) == "success", task_states(run)
    assert ac_contact(vendors, person["ac_id"]) == (
        before[0],
        before[1],
        "Vermeulen",
        "+31 6 9999 0000",
    )
    google = google_person(vendors, person["google"])
    assert [p["value"] for p in google["phoneNumbers"]] == ["+31 6 9999 0000"]
    assert google["names"][0]["familyName"] == "Vermeulen"
    assert google["names"][0]["givenName"] == given_name  # half a name changed, not the other
    outcomes = evidence(vendors, "rectify.outcome")
    changed = {(e["source"], e["categories"]) for e in outcomes if e["outcome"] == "rectified"}
    assert ("activecampaign", "last_name,phone") in changed
    assert ("google_contacts", "last_name,phone") in changed  # our field names, every source
    assert all("Vermeulen" not in json.dumps(e, default=str) for e in outcomes)
    letter = (exports / "confirmations" / f"{ref}.txt").read_text()
    assert "ActiveCampaign e-mail: last name, phone number corrected" in letter
    assert "Vermeulen" not in letter
    assert register_row(vendors, ref)["status"] == "completed"


def test_a_new_address_held_by_another_contact_is_refused_and_nothing_changes(
    vendors, run_dag, exports, task_output
):
    """Issue 20: the new e-mail of a rectification belongs to another contact. Refused naming
    `new_email` before any source is touched: no vendor is relied on to reject it."""
    person = person_everywhere(vendors)
    other = person_everywhere(vendors, skip=1)
    before = {p["ac_id"]: ac_contact(vendors, p["ac_id"]) for p in (person, other)}
    google_before = google_person(vendors, person["google"])
    writes_before = [r for r in vendors.requests_made("activecampaign") if r["method"] != "GET"]
    ref = "REQ-2026-0201"
    conf = registered(
        vendors,
        person["email"],
        ref,
        "rectification",
        new_email=other["email"].upper(),  # the same address, as people type it
        new_last_name="Vermeulen",
    )
    task_output()
    run = run_dag("ks_request_rectification", NOW, conf)
    assert str(run.state) == "failed"
    states = task_states(run)
    assert (states["check"], states["rectify"], states["finish"]) == (
        "failed",
        "upstream_failed",
        "upstream_failed",
    )
    assert "`new_email` is already used by another person (activecampaign" in task_output()
    assert {p["ac_id"]: ac_contact(vendors, p["ac_id"]) for p in (person, other)} == before
    assert google_person(vendors, person["google"]) == google_before
    writes = [r for r in vendors.requests_made("activecampaign") if r["method"] != "GET"]
    assert writes == writes_before
    assert evidence(vendors, "rectify.outcome") == []
    refused = evidence(vendors, "request.refused", ref)
    assert [e["details"]["field"] for e in refused] == ["new_email"]
    assert register_row(vendors, ref)["status"] == "refused"
    assert vault_rows(vendors, ref) == 0
    letter = (exports / "confirmations" / f"{ref}.txt").read_text()
    assert "changed nothing in your data" in letter
    assert other["email"] not in letter.lower()


def test_rectification_of_an_unknown_address_closes_as_no_data_found(vendors, run_dag, exports):
    ref = "REQ-2026-0202"
    conf = registered(
        vendors, "onbekend@example.org", ref, "rectification", new_phone="+31 6 1111 2222"
    )
    run = run_dag("ks_request_rectification", NOW, conf)
    assert str(run.state) == "success", task_states(run)
    assert register_row(vendors, ref)["status"] == "no_data_found"
    assert "nothing to correct" in (exports / "confirmations" / f"{ref}.txt").read_text()


def test_a_rectification_dry_run_changes_nothing(vendors, run_dag):
    person = person_everywhere(vendors)
    before = ac_contact(vendors, person["ac_id"])
    ref = "REQ-2026-0203"
    conf = registered(
        vendors, person["email"], ref, "rectification", new_last_name="Vermeulen", dry_run=True
    )
    run = run_dag("ks_request_rectification", NOW, conf)
    assert str(run.state) == "success", task_states(run)
    assert ac_contact(vendors, person["ac_id"]) == before
    assert {e["outcome"] for e in evidence(vendors, "rectify.dry_run")} == {"dry_run"}
    row = register_row(vendors, ref)
    assert row["status"] == "open" and vault_rows(vendors, ref) == 2  # still to be done


def test_consent_withdrawal_unsubscribes_from_every_list(vendors, run_dag, exports):
    person = person_everywhere(vendors)
    subscribed = vendors.sql(
        "SELECT count(*) FROM ac_contact_lists WHERE contact = ? AND status = 1", person["ac_id"]
    )[0][0]
    ref = "REQ-2026-0300"
    run = run_dag("ks_request_consent", NOW, registered(vendors, person["email"], ref, "consent"))
    assert str(run.state) == "success", task_states(run)
    statuses = vendors.sql("SELECT status FROM ac_contact_lists WHERE contact = ?", person["ac_id"])
    assert statuses and {s for (s,) in statuses} == {2}
    details = [
        e["details"]
        for e in evidence(vendors, "consent.withdrawn")
        if e["source"] == "activecampaign"
    ]
    assert details[-1]["lists_unsubscribed"] == subscribed
    optouts = vendors.website_sql("SELECT subject_ref FROM tracking_optouts")
    assert len(optouts) == 1 and optouts[0][0].startswith("ps_")
    letter = (exports / "confirmations" / f"{ref}.txt").read_text()
    assert f"unsubscribed from {subscribed} mailing list(s)" in letter


def test_consent_for_an_unknown_address_closes_as_no_data_found(vendors, run_dag, exports):
    ref = "REQ-2026-0301"
    run = run_dag(
        "ks_request_consent", NOW, registered(vendors, "niemand@example.org", ref, "consent")
    )
    assert str(run.state) == "success", task_states(run)
    assert register_row(vendors, ref)["status"] == "no_data_found"
    letter = (exports / "confirmations" / f"{ref}.txt").read_text()
    assert "you are on none of our mailing lists" in letter and "unsubscribed" not in letter


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
