"""Issue 14's "done when": someone with full database access tampers with the evidence, and the
scheduled `ks_audit_verify`, with its default params, finds it and names the row or the anchor.
On real PostgreSQL and on SQLite, run for real (dag.test through `run_dag`).

Each test: evidence written the way the suite writes it (a sweep, two requests, a legal hold),
a first verify run (passes, publishes an anchor), the tampering, a second verify run (fails)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ks_privacy.audit_db import engine_for_url, migrate
from ks_privacy.evidence import AuditTrail, RunContext
from ks_privacy.holds import LegalHolds
from tests.auditors.conftest import (
    PEOPLE,
    airflow_url,
    pseudonym,
    rehash_from,
    seed_evidence,
    tamper,
)
from tests.fixtures.dagrun import task_states


def _place_hold(engine) -> str:
    subject = pseudonym(PEOPLE["carla"])
    holds = LegalHolds(AuditTrail(engine, RunContext(task_id="hold place")))
    assert holds.place(subject, "litigation", "CASE-2026-0007", "Olga Ops")
    return subject


def _rows(engine) -> int:
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT MAX(seq) FROM ks_evidence").scalar()


def _drop_trigger(engine) -> tuple[list[str], str]:
    if engine.dialect.name == "postgresql":
        name = "ks_evidence_no_update_delete"
        return [f"DROP TRIGGER {name} ON ks_evidence"], name
    return ["DROP TRIGGER ks_evidence_no_delete"], "ks_evidence_no_delete"


# case -> (what the insider does, the text the failed run must show); `n` is the head's seq
CASES = {
    "edit a row": (
        lambda e, n, hold: tamper(e, "UPDATE ks_evidence SET outcome = 'kept' WHERE seq = 7"),
        "audit chain BROKEN at row #7: its content does not match its hash (edited)",
    ),
    "delete a middle row": (
        lambda e, n, hold: tamper(e, "DELETE FROM ks_evidence WHERE seq = 7"),
        "audit chain BROKEN at row #8: expected row #7 next, found #8 (rows removed)",
    ),
    "delete the last rows": (
        lambda e, n, hold: tamper(e, f"DELETE FROM ks_evidence WHERE seq > {n - 3}"),
        "the chain no longer has row #{n}; it ends at #{m}: rows were removed from the end",
    ),
    "swap two rows": (
        lambda e, n, hold: tamper(
            e,
            "UPDATE ks_evidence SET seq = -7 WHERE seq = 7",
            "UPDATE ks_evidence SET seq = 7 WHERE seq = 8",
            "UPDATE ks_evidence SET seq = 8 WHERE seq = -7",
        ),
        "audit chain BROKEN at row #7: its previous-hash does not match the row before",
    ),
    "edit a row and re-hash every row after it": (
        lambda e, n, hold: (
            tamper(e, "UPDATE ks_evidence SET outcome = 'kept' WHERE seq = 7"),
            rehash_from(e, 7),
        ),
        "row #{n} now has hash",
    ),
    "change a request's received_on": (
        lambda e, n, hold: _sql(
            e,
            "UPDATE ks_requests SET received_on = '2026-01-01' WHERE request_ref = 'REQ-2026-001'",
        ),
        "ks_requests row REQ-2026-001 differs from its state in evidence row #",
    ),
    "delete a legal-hold row": (
        lambda e, n, hold: _sql(e, f"DELETE FROM ks_legal_holds WHERE subject_ref = '{hold}'"),
        "ks_legal_holds row {hold} is missing; evidence row #{n} recorded it",
    ),
    "drop the append-only trigger": (
        lambda e, n, hold: _sql(e, *_drop_trigger(e)[0]),
        "append-only trigger {trigger} on ks_evidence is missing",
    ),
}


def _sql(engine, *statements: str) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)


@pytest.fixture(params=["postgresql", "sqlite"])
def audit_db(request, tmp_path, monkeypatch):
    """(engine, AIRFLOW_CONN value) of a migrated audit database of each kind."""
    if request.param == "postgresql":
        url = request.getfixturevalue("audit_url")
        engine, conn = engine_for_url(url), airflow_url(url)
    else:
        path = tmp_path / "audit.db"
        engine, conn = engine_for_url(f"sqlite:///{path}"), f"sqlite:///{path}"
        migrate(engine)
    monkeypatch.setenv("AIRFLOW_CONN_KS_AUDIT_DB", conn)
    monkeypatch.setenv("AIRFLOW_VAR_KS_AUDIT_REPORT_BASE", (tmp_path / "reports").as_uri() + "/")
    return engine


@pytest.mark.parametrize("case", list(CASES))
def test_the_scheduled_verify_finds_and_names_it(
    case, audit_db, run_dag, task_output, caplog, evidence_keys
):
    engine = audit_db
    seed_evidence(engine)
    hold = _place_hold(engine)
    now = datetime.now(UTC)

    first = run_dag("ks_audit_verify", now)
    assert str(first.state) == "success", task_states(first)
    anchors = sorted(p.name for p in evidence_keys.glob("anchor-*.json"))
    assert len(anchors) == 1  # the verified head, published outside the database
    head = _rows(engine)
    task_output()
    caplog.clear()

    act, expected = CASES[case]
    act(engine, head, hold)
    expected = expected.format(n=head, m=head - 3, hold=hold, trigger=_drop_trigger(engine)[1])

    second = run_dag("ks_audit_verify", now + timedelta(minutes=1))
    out = task_output()
    states = task_states(second)
    assert str(second.state) == "failed"
    assert states["verify_chain"] == "failed", states
    assert expected in out, out[-4000:]
    if case in ("delete the last rows", "edit a row and re-hash every row after it"):
        assert f"anchor {anchors[0]} (row #{head}" in out  # only the anchor shows it: named
    # honest output: nothing calls this chain intact, and its head is not published
    assert "audit chain intact" not in out
    assert sorted(p.name for p in evidence_keys.glob("anchor-*.json")) == anchors
