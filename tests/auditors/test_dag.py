"""`ks_audit_verify` run for real (dag.test through the `run_dag` fixture): on the evidence of a
real retention run against the sandbox, and on a chain an insider tampered with."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from ks_privacy.audit import lookup
from ks_privacy.evidence import AuditTrail, Evidence, RunContext
from ks_privacy.register import Register
from tests.auditors.conftest import TAMPERING, airflow_url, seed_evidence, tamper
from tests.fixtures.dagrun import task_states
from tests.fixtures.sandbox import NOW, PSEUDONYM_KEY

CHECKS = ("verify_chain", "check_verifications", "check_requests")


def _report_env(monkeypatch, tmp_path) -> Path:
    reports = tmp_path / "reports"
    monkeypatch.setenv("AIRFLOW_VAR_KS_AUDIT_REPORT_BASE", reports.as_uri() + "/")
    return reports


def test_a_real_retention_run_verifies_and_reports_what_the_evidence_says(
    vendors, run_dag, monkeypatch, tmp_path, capfd, caplog
):
    engine = sa.create_engine(vendors.audit_url)

    def delete_worklist():
        with engine.connect() as conn:
            refs = [
                r[0]
                for r in conn.execute(
                    sa.text("SELECT record_ref FROM ks_plan WHERE source='tawk' AND state='manual'")
                )
            ]
        vendors.dashboard_delete(refs)

    sweep = run_dag(
        "ks_retention_daily",
        NOW,
        {"override_guard": True},
        answers={"tawk.confirm_deleted": ("All listed chats are deleted", delete_worklist)},
    )
    assert str(sweep.state) == "success", task_states(sweep)
    reports = _report_env(monkeypatch, tmp_path)
    capfd.readouterr()

    caplog.clear()
    audit = run_dag("ks_audit_verify", datetime.now(UTC))
    # under dag.test the task's own log lines reach pytest's log capture, Airflow's go to stdout
    out = capfd.readouterr().out + caplog.text
    assert str(audit.state) == "success", task_states(audit)

    with engine.connect() as conn:
        rows, head_seq, head_hash = conn.execute(
            sa.text(
                "SELECT COUNT(*), MAX(seq), (SELECT row_hash FROM ks_evidence ORDER BY seq DESC "
                "LIMIT 1) FROM ks_evidence"
            )
        ).one()
        counted = {
            (source, action): n
            for source, action, n in conn.execute(
                sa.text(
                    "SELECT source, CASE"
                    " WHEN outcome IN ('failed', 'still_present') THEN 'failed'"
                    " WHEN event IN ('erase.outcome', 'manual.confirmed') AND outcome = 'erased'"
                    "  THEN 'erased'"
                    " WHEN event = 'redact.outcome' AND outcome = 'redacted' THEN 'redacted'"
                    " WHEN event = 'hold' THEN 'held' END, COUNT(*) FROM ks_evidence GROUP BY 1, 2"
                )
            )
        }
        erased_tawk = conn.execute(
            sa.text("SELECT COUNT(*) FROM ks_plan WHERE source = 'tawk' AND outcome = 'erased'")
        ).scalar()
    # the task log tells the auditor the chain's length and head, checked against the anchor
    # the sweep's report published, and the verified head is published as a new anchor
    assert f"audit chain intact: {rows} rows, head #{head_seq} {head_hash}; 1 anchor(s)" in out
    assert f"ANCHOR {head_seq}:{head_hash} published as" in out

    summary = json.loads((reports / "latest.json").read_text())
    html = (reports / "latest.html").read_text()
    sources = {s for s, _ in counted if s}
    expected = {
        s: {a: counted.get((s, a), 0) for a in ("erased", "redacted", "held", "failed")}
        for s in sources
        if any(counted.get((s, a)) for a in ("erased", "redacted", "held", "failed"))
    }
    assert summary["totals"] == expected
    assert sum(t["erased"] for t in expected.values()) > 0
    assert expected["tawk"]["erased"] == erased_tawk  # confirmed by the person, then read back
    for source, numbers in expected.items():
        cells = "".join(f'<td class="n">{numbers[a]}</td>' for a in numbers)
        assert f"<tr><td>{source}</td>{cells}</tr>" in html
    assert summary["period_rows"]["count"] == rows
    assert summary["chain"]["walk"] == {
        "ok": True,
        "length": rows,
        "head_seq": head_seq,
        "head_hash": head_hash,
        "first_bad_seq": None,
        "problem": None,
    }
    assert summary["chain"]["intact"] and summary["chain"]["anchors_checked"] >= 1
    assert summary["verification"]["removals"] == summary["verification"]["verified"] > 0
    for category in summary["retention"]:
        assert category["overdue"] == 0, category  # everything due was removed and read back
        # "not measured" until the sweep records `oldest.<category>` in scan.completed
        assert category["verdict"] in ("kept", "not measured", "not held"), category

    # "what happened to this person?": a seeded person whose ActiveCampaign record was erased
    (email,) = vendors.sql(
        "SELECT email FROM seed_people WHERE ac_id IS NOT NULL AND held = 0 "
        "AND systems = 'activecampaign' ORDER BY last_activity LIMIT 1"
    )[0]
    history = lookup.history(
        engine, lookup.pseudonym_of(email, lookup.Pseudonymiser(PSEUDONYM_KEY))
    )
    assert {(r["event"], r["outcome"]) for r in history.evidence} >= {
        ("erase.outcome", "erased"),
        ("verify", "verified"),
    }
    assert email not in out


def test_a_broken_chain_fails_the_dag_and_the_report_says_so_too(
    audit_url, audit_engine, run_dag, monkeypatch, tmp_path, capfd
):
    statements, bad_seq, problem = TAMPERING["edit"]
    monkeypatch.setenv("AIRFLOW_CONN_KS_AUDIT_DB", airflow_url(audit_url))
    reports = _report_env(monkeypatch, tmp_path)
    seed_evidence(audit_engine)
    tamper(audit_engine, *statements)
    capfd.readouterr()

    run = run_dag("ks_audit_verify", datetime.now(UTC))
    out = capfd.readouterr().out
    states = task_states(run)
    assert str(run.state) == "failed"
    assert states["verify_chain"] == "failed", states
    assert re.search(rf"audit chain BROKEN at row #{bad_seq}: [^\n]*{problem}", out), out[-3000:]
    # the other checks and the report still run, and the report says it too, signed
    assert states["report"] == "success"
    summary = json.loads((reports / "latest.json").read_text())
    assert summary["chain"]["walk"]["first_bad_seq"] == bad_seq and not summary["ok"]
    assert not summary["chain"]["intact"]
    assert (reports / "latest.json.sig").stat().st_size == 64
    html = (reports / "latest.html").read_text()
    assert "audit chain NOT intact" in html and "audit chain intact" not in html


def test_a_missing_read_back_and_an_overdue_request_fail_their_checks(
    audit_url, audit_engine, run_dag, monkeypatch, tmp_path, capfd
):
    monkeypatch.setenv("AIRFLOW_CONN_KS_AUDIT_DB", airflow_url(audit_url))
    _report_env(monkeypatch, tmp_path)
    trail = AuditTrail(audit_engine, RunContext("ks_retention_daily", "manual__1", "tawk.apply", 1))
    trail.append(
        [Evidence(event="erase.outcome", outcome="erased", source="tawk", record_ref="c9")]
    )
    received = datetime.now(UTC).date() - timedelta(days=26)
    Register(trail).register("REQ-9", "access", "ps_someone", received, "Olga")
    capfd.readouterr()

    # three days on: the erasure never got its read-back, the request passed four weeks
    run = run_dag("ks_audit_verify", datetime.now(UTC) + timedelta(days=3))
    out = capfd.readouterr().out
    states = task_states(run)
    assert (states["verify_chain"], states["check_verifications"], states["check_requests"]) == (
        "success",
        "failed",
        "failed",
    )
    assert "row #1 (erase.outcome erased, tawk/c9): no `verify` event within 24 h" in out
    assert "request REQ-9 (access) is open 29 days, past its due date" in out
