"""What a sweep costs in API calls is deterministic: for a small account shaped as the benchmark's
(0.5 % due, including records only the clock ledger finds), every kind of call the sandbox logs
equals what bench/minimum.py computes from the account's own tables, for the daily incremental
sweep and for the weekly full one. The difference from the strict minimum is only the surplus
bench/minimum.py names (a short last page, ActiveCampaign's date-granular filter, the etags of
Google redactions, ActiveCampaign custom fields' short pages and read-back counts)."""

from __future__ import annotations

import shutil
from collections import Counter

import pytest
import requests
import sqlalchemy as sa

from bench import data
from bench.minimum import expected_calls, kind_of, minimum_calls, pages, pages_to_short_page
from ks_privacy import sweep
from ks_privacy.audit_db import engine_for_url
from ks_privacy.evidence import AuditTrail, RunContext
from ks_privacy.policy import load_policy
from ks_privacy.pseudonym import Pseudonymiser
from ks_privacy.sources import build_source
from sandbox import Sandbox
from tests.fixtures.sandbox import FAST, PSEUDONYM_KEY, airflow_connections

CONTACTS = 4000  # 20 due per vendor, a quarter of them only through the ledger
SERVICE = {"activecampaign": "activecampaign", "google_contacts": "google"}


@pytest.fixture(scope="module")
def account(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench-account") / f"account-{CONTACTS}.db"
    data.make_account(path, CONTACTS, log=lambda *_: None)
    return path


def run_sweep(audit_url, source_name: str, full: bool) -> dict:
    policy = load_policy()
    engine = engine_for_url(audit_url)
    results = {}
    for task_id, step_fn in (
        ("scan", lambda s: sweep.scan(s, full_scan=full)),
        ("guard", lambda s: sweep.guard(s, override=True)),
        ("apply", sweep.apply),
        ("verify", sweep.verify),
    ):
        step = sweep.SweepStep(
            policy=policy,
            source_name=source_name,
            source=build_source(policy, source_name),
            engine=engine,
            trail=AuditTrail(engine, RunContext("ks_retention_daily", "calls", task_id, 1)),
            pseudonymise=Pseudonymiser(PSEUDONYM_KEY),
            now=data.NOW,
            dry_run=False,
        )
        results[task_id] = step_fn(step)
    return results


@pytest.mark.parametrize("full", [False, True], ids=["incremental", "full"])
@pytest.mark.parametrize("source_name", ["activecampaign", "google_contacts"])
def test_calls_are_what_the_minimum_and_its_named_surplus_say(
    account, tmp_path, audit_url, monkeypatch, source_name, full
):
    db = tmp_path / "sandbox.db"
    shutil.copyfile(account, db)
    truth = data.truth(db)[source_name]
    engine = engine_for_url(audit_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO ks_clock_ledger (source, record_ref, activity_before, "
                "vendor_stamp_after) VALUES (:source, :ref, :before, :after)"
            ),
            data.ledger_rows(db, source_name),
        )
    box = Sandbox(db).start()
    try:
        control = box.control_url(SERVICE[source_name])
        requests.post(f"{control}/rate_limit", json={"per_second": FAST}, timeout=10)
        for key, value in airflow_connections(box, "sqlite://", audit_url).items():
            monkeypatch.setenv(key, value)
        requests.delete(f"{control}/requests", timeout=10).raise_for_status()

        results = run_sweep(audit_url, source_name, full)

        log = requests.get(f"{control}/requests", timeout=10).json()["requests"]
    finally:
        box.stop()
    made = Counter(kind for e in log if (kind := kind_of(source_name, e)) is not None)
    assert all(e["status"] < 400 for e in log)
    assert dict(made) == expected_calls(truth, full)

    # the sweep did the day's work, no more and no less
    assert results["apply"].get("erase.erased", 0) == truth.erase
    assert results["apply"].get("redact.redacted", 0) == truth.redact
    assert results["scan"].get("hold", 0) == truth.held_due
    assert results["verify"] == {"verified": truth.acted, "still_present": 0}

    # the surplus over the strict minimum is only what bench/minimum.py names
    minimum = minimum_calls(truth, full)
    surplus = {k: made[k] - minimum[k] for k in minimum if made[k] != minimum[k]}
    if source_name == "google_contacts":
        assert surplus == {"batch get": -(-truth.redact // 200)}  # the redactions' etags
    else:
        assert set(surplus) <= {"list", "held list", "field values", "fields"}
        assert all(0 <= surplus.get(k, 0) <= 1 for k in ("list", "held list"))
        # custom fields: a short last page per mapped field; the read-back of redactions looks
        # their ids up again and counts each mapped field's values
        short_pages = sum(pages_to_short_page(n, 100) - pages(n, 100) for n in truth.custom_values)
        read_back = len(truth.custom_values) if truth.redact else 0
        assert surplus.get("field values", 0) == short_pages + read_back
        assert surplus.get("fields", 0) == (1 if truth.redact else 0)
