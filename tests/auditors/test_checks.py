"""The auditor's checks and report on real PostgreSQL, from evidence written the way the suite
writes it: read-backs, request deadlines, anchors, the report's numbers and its CSV."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from ks_privacy.audit import chain_checks, checks, csvcheck, report
from ks_privacy.audit.period import ACTIONS
from ks_privacy.evidence import AuditTrail, Evidence, RunContext
from ks_privacy.policy import load_policy
from ks_privacy.register import Register
from tests.auditors.conftest import PEOPLE, pseudonym, seed_evidence, tamper, today

CTX = RunContext("ks_retention_daily", "manual__x", "tawk.apply", 1)


def _removal(ref: str, outcome: str = "erased", event: str = "erase.outcome") -> Evidence:
    return Evidence(
        event=event, outcome=outcome, source="tawk", record_ref=ref, categories=("email",)
    )


def _verify(ref: str, outcome: str = "verified") -> Evidence:
    return Evidence(event="verify", outcome=outcome, source="tawk", record_ref=ref)


def test_every_removal_needs_its_read_back(audit_engine):
    trail = AuditTrail(audit_engine, CTX)
    trail.append(
        [
            _removal("a"), _verify("a"),  # fine
            _removal("b"),  # no read-back (yet)
            _removal("c"), _verify("c", "still_present"),  # read back: still there
            _removal("d"), _verify("d", "still_present"), _removal("d"), _verify("d"),  # mended
            _removal("e", "redacted", "redact.outcome"), _verify("e"),
            Evidence(event="manual.confirmed", outcome="erased", source="tawk", record_ref="f"),
            _removal("g", "already_absent"),  # nothing was removed: no read-back needed
        ]
    )  # fmt: skip
    now = datetime.now(UTC)
    soon = checks.check_verifications(audit_engine, now)
    assert (soon.removals, soon.verified) == (7, 3)  # d was removed twice
    assert [(u.record_ref, u.state) for u in soon.open_items] == [
        ("b", "awaiting"),
        ("c", "still_present"),
        ("f", "awaiting"),
    ]
    assert [f.problem for f in soon.findings] == [False, True, False]

    later = checks.check_verifications(audit_engine, now + timedelta(days=2))
    assert [(u.record_ref, u.state) for u in later.open_items] == [
        ("b", "missing"),
        ("c", "still_present"),
        ("f", "missing"),
    ]
    texts = [f.text for f in later.findings if f.problem]
    assert texts[0].startswith("row #3 (erase.outcome erased, tawk/b): no `verify` event")
    assert "row #4" in texts[1] and "still present" in texts[1]


def test_requests_are_closed_within_four_weeks_or_flagged(audit_engine):
    register = Register(AuditTrail(audit_engine, CTX))
    day = today()
    cases = {
        "R-ontime": 20,  # received 20 days ago, closed today
        "R-late": 35,  # closed today, a week too late
        "R-overdue": 30,  # still open after 30 days
        "R-soon": 25,  # open, due in three days
        "R-open": 2,
    }
    for ref, days_ago in cases.items():
        register.register(ref, "erasure", "ps_x" + ref, day - timedelta(days=days_ago), "Olga")
    register.set_status("R-ontime", "completed")
    register.set_status("R-late", "completed")

    status = checks.check_requests(audit_engine, day)
    verdicts = {r.request_ref: (r.verdict, r.days_open) for r in status.rows}
    assert verdicts == {
        "R-ontime": ("on time", 20),
        "R-late": ("late", 35),
        "R-overdue": ("overdue", 30),
        "R-soon": ("due soon", 25),
        "R-open": ("open", 2),
    }
    problems = [f.text for f in status.findings if f.problem]
    assert problems == [
        f"request R-overdue (erasure) is open 30 days, past its due date {day - timedelta(days=2)}"
    ]
    flags = [f.text for f in status.findings if not f.problem]
    assert any("R-late" in f and "after 35 days" in f for f in flags)
    assert any("R-soon" in f for f in flags)

    # the register must agree with the chain: a status changed behind the evidence's back
    with audit_engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE ks_requests SET status = 'completed', closed_at = now() "
            "WHERE request_ref = 'R-overdue'"
        )
    status = checks.check_requests(audit_engine, day)
    (note,) = [f.text for f in status.findings if f.problem]
    assert "R-overdue" in note and "last status evidence says 'open'" in note


def test_a_noted_head_catches_a_chain_rebuilt_from_scratch(audit_engine):
    trail = AuditTrail(audit_engine, CTX)
    trail.append([_removal(str(i)) for i in range(5)])
    head = chain_checks.check_chain(audit_engine).report
    noted = chain_checks.given_anchors(
        [chain_checks.parse_anchor(f"{head.head_seq}:{head.head_hash}")]
    )
    assert chain_checks.check_chain(audit_engine, noted).ok

    # an insider rewrites history and recomputes every hash: the chain itself verifies...
    tamper(audit_engine, "DELETE FROM ks_evidence")
    trail.append([_removal(str(i)) for i in range(4)] + [_removal("other")])
    rebuilt = chain_checks.check_chain(audit_engine, noted)
    assert rebuilt.report.ok
    # ... but not against what the auditor noted down, and it is not called intact
    assert not rebuilt.ok
    (problem,) = [f.text for f in rebuilt.problems]
    assert f"row #{head.head_seq} now has hash" in problem and "rewritten" in problem
    assert "intact" not in rebuilt.summary().replace("NOT intact", "")
    with pytest.raises(ValueError, match="SEQ:HASH"):
        chain_checks.parse_anchor("5:abc")


def _read(path_url: str) -> str:
    return Path(path_url.removeprefix("file://")).read_text(encoding="utf-8")


def _cells(html: str, table_id: str) -> list[list[str]]:
    body = re.search(rf"<table id=\"{table_id}\">.*?<tbody>(.*?)</tbody>", html, re.S).group(1)
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body)]


def test_report_numbers_equal_the_evidence_and_the_csv_reverifies(audit_engine, tmp_path):
    seeded = seed_evidence(audit_engine)
    end = datetime.now(UTC) + timedelta(minutes=1)
    written = report.write(
        audit_engine, load_policy(), end - timedelta(days=31), end, end, base=tmp_path.as_uri()
    )
    html = _read(written.html)
    summary = json.loads(_read(written.json))

    # per source, the report's columns are the evidence counted by event and outcome
    with audit_engine.connect() as conn:
        counted = {
            (source, action): n
            for source, action, n in conn.execute(
                sa.text(
                    "SELECT source, CASE "
                    " WHEN outcome IN ('failed', 'still_present') THEN 'failed'"
                    " WHEN event IN ('erase.outcome', 'manual.confirmed') AND outcome = 'erased'"
                    "  THEN 'erased'"
                    " WHEN event = 'redact.outcome' AND outcome = 'redacted' THEN 'redacted'"
                    " WHEN event = 'hold' THEN 'held' END AS action, COUNT(*) "
                    "FROM ks_evidence GROUP BY 1, 2"
                )
            )
            if action
        }
    expected = {
        source: {a: counted.get((source, a), 0) for a in ACTIONS}
        for source in {s for s, _ in counted}
    }
    assert summary["totals"] == expected
    assert expected["activecampaign"] == {"erased": 2, "redacted": 1, "held": 1, "failed": 0}
    assert expected["tawk"]["erased"] == seeded.erased["tawk"]
    table = {row[0]: [int(c) for c in row[1:]] for row in _cells(html, "totals")}
    for source, numbers in expected.items():
        assert table[source] == [numbers[a] for a in ACTIONS]

    # retention: the statement's table with the measured oldest age next to the term
    retention = {r["category"]: r for r in summary["retention"]}
    assert retention["phone"]["oldest_days"] == 150 and retention["phone"]["term_days"] == 160
    assert retention["email"]["oldest_days"] == 170
    assert retention["ip_address"]["oldest_days"] == 179
    # website_activity had a failed erasure: a due value still held is a breach, named as such
    assert retention["website_activity"]["overdue"] == 1
    assert retention["website_activity"]["verdict"] == "BREACH"
    # google_contacts was never swept: what it holds cannot be called kept
    assert retention["address"]["verdict"] == "not swept"
    # a category found where the statement does not say it is held is flagged
    assert retention["gender"]["measured"].startswith("under 159 d")
    assert any(
        f.startswith("gender is held in activecampaign, which the statement does not")
        for f in summary["flags"]
    )

    # requests against the four-week limit
    requests = {r["request_ref"]: r for r in summary["requests"]}
    assert requests["REQ-2026-001"]["verdict"] == "on time"
    assert requests["REQ-2026-001"]["days"] == 10
    assert requests["REQ-2026-002"]["verdict"] == "open"

    # the CSV is the whole period, re-verifiable without the database, and named by its hash
    csv_text = _read(written.csv)
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert len(rows) == seeded.rows == summary["period_rows"]["count"]
    assert summary["evidence_csv"]["sha256"] in html
    last_seq, last_hash = summary["period_rows"]["last"]
    assert csvcheck.verify_csv(io.StringIO(csv_text), (last_seq, last_hash), len(rows)).ok
    assert f"--expect-head {last_seq}:{last_hash} --expect-rows {len(rows)}" in html
    assert summary["chain"]["walk"]["ok"] and summary["chain"]["walk"]["length"] == seeded.rows
    assert summary["chain"]["intact"] and summary["chain"]["anchors_checked"] == 0
    assert any("no anchors yet" in f for f in summary["flags"])  # the first run: said, not failed

    # self-contained: charts inline, nothing fetched from anywhere, no personal data
    assert html.count('src="data:image/png;base64,') == 3
    assert not re.search(r"(src|href)=[\"'](https?:)?//", html)
    for text in (html, csv_text, _read(written.json)):
        for email in PEOPLE.values():
            assert email.strip().lower() not in text.lower()
    assert pseudonym(PEOPLE["anna"]) in csv_text


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda rows: rows[4].update(outcome="kept"), "row #5: its content does not match"),
        (lambda rows: rows.pop(4), "row #6: expected row #5 next"),
        (lambda rows: rows.insert(4, rows.pop(5)), "row #6: expected row #5 next"),
        (lambda rows: rows.pop(), "cut off the end"),
        (lambda rows: [rows.pop() for _ in range(3)], "cut off the end"),
        (lambda rows: rows.pop(0), "cut off the start"),
    ],
    ids=["edit", "delete", "swap", "cut-last", "cut-last-3", "cut-first"],
)
def test_a_changed_csv_is_detected(audit_engine, tmp_path, change, problem):
    seed_evidence(audit_engine)
    end = datetime.now(UTC) + timedelta(minutes=1)
    written = report.write(
        audit_engine, load_policy(), end - timedelta(days=1), end, end, base=tmp_path.as_uri()
    )
    summary = json.loads(_read(written.json))["period_rows"]
    head, count = tuple(summary["last"]), summary["count"]
    assert csvcheck.verify_csv(io.StringIO(_read(written.csv)), head, count).ok
    rows = list(csv.DictReader(io.StringIO(_read(written.csv))))
    change(rows)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    result = csvcheck.verify_csv(io.StringIO(out.getvalue()), head, count)
    assert not result.ok
    assert problem.replace("row #", "") in result.summary().replace("row #", "")
    assert "intact" not in result.summary()
    # the first row must link to the previous report's last row
    intact = csvcheck.verify_csv(io.StringIO(_read(written.csv)), head, count, "f" * 64)
    assert not intact.ok and "previous piece" in intact.problem
