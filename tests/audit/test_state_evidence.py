"""The tables decisions read, mirrored into the chain (ks_privacy.state_evidence), on real
PostgreSQL and SQLite: every write leaves a `state.<table>` row with the row's hash, and
reconciliation names every row changed, deleted or inserted behind the suite's back."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from ks_privacy import state_evidence
from ks_privacy.audit_db import engine_for_url, migrate
from ks_privacy.evidence import AuditTrail, RunContext
from ks_privacy.holds import LegalHolds
from ks_privacy.ledger import ClockLedger
from ks_privacy.plans import DONE, Plan, PlanRow
from ks_privacy.register import Register

CTX = RunContext("ks_retention_daily", "scheduled__2026-11-25", "tawk.apply", 1)
T0 = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)


@pytest.fixture(params=["postgresql", "sqlite"])
def engine(request, tmp_path):
    if request.param == "postgresql":
        return request.getfixturevalue("audit_engine")
    engine = engine_for_url(f"sqlite:///{tmp_path}/audit.db")
    migrate(engine)
    return engine


def _work(engine) -> dict:
    """One of each write the suite does to the mirrored tables."""
    trail = AuditTrail(engine, CTX)
    register = Register(trail)
    register.register("REQ-1", "erasure", "ps_anna", date(2026, 11, 1), "Olga")
    register.set_status("REQ-1", "completed", approved_by="Piet")
    holds = LegalHolds(trail)
    holds.place("ps_carla", "litigation", "CASE-2026-0007", "Olga")
    holds.place("ps_bram", "tax", "TAX-2026-1", "Olga")
    holds.lift("ps_bram", "Olga")
    plan = Plan(engine, CTX.dag_id, CTX.run_id, "tawk")
    ledger = ClockLedger(engine, "tawk")
    with engine.begin() as conn:
        plan.add(
            conn,
            [
                PlanRow("chat-1", "ps_anna", "erase", ("email",), "email>180d", 181, T0),
                PlanRow("chat-2", "ps_carla", "hold", ("email",), "email>180d", 400, T0),
            ],
        )
        plan.mark(conn, ["chat-1"], DONE, "erased")
        ledger.record_write(conn, "chat-3", T0, T0 + timedelta(days=1))
        ledger.record_write(conn, "chat-4", T0, T0 + timedelta(days=1))
        ledger.forget(conn, ["chat-4", "chat-never-there"])
    return {"plan_key": json.dumps([CTX.dag_id, CTX.run_id, "tawk", "chat-2"]).replace(" ", "")}


def _state_rows(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.text(
                    "SELECT event, record_ref, outcome FROM ks_evidence "
                    "WHERE event LIKE 'state.%' ORDER BY seq"
                )
            )
        ]


def test_every_write_is_mirrored_and_reconciles(engine):
    _work(engine)
    rows = _state_rows(engine)
    events = [(e, o) for e, _, o in rows]
    assert events.count(("state.ks_requests", "written")) == 2  # registered, completed
    assert events.count(("state.ks_legal_holds", "written")) == 3  # placed, placed, lifted
    assert ("state.ks_clock_ledger", "deleted") in events
    assert not [r for r in rows if "chat-never-there" in r[1]]  # nothing deleted, nothing said
    checked, mismatches = state_evidence.reconcile(engine)
    assert mismatches == []
    assert checked == 1 + 2 + 2 + 1  # requests, holds, plan rows, ledger rows
    assert AuditTrail(engine).verify().ok


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        (
            "UPDATE ks_requests SET due_on = '2027-01-01' WHERE request_ref = 'REQ-1'",
            "ks_requests row REQ-1 differs from its state in evidence row #",
        ),
        (
            "UPDATE ks_plan SET action = 'erase' WHERE record_ref = 'chat-2'",
            "ks_plan row {plan_key} differs from its state",
        ),
        (
            "DELETE FROM ks_legal_holds WHERE subject_ref = 'ps_carla'",
            "ks_legal_holds row ps_carla is missing; evidence row #",
        ),
        (
            "UPDATE ks_legal_holds SET lifted_at = NULL, lifted_by = NULL "
            "WHERE subject_ref = 'ps_bram'",
            "ks_legal_holds row ps_bram differs from its state",
        ),
        (
            "DELETE FROM ks_clock_ledger WHERE record_ref = 'chat-3'",
            'ks_clock_ledger row ["tawk","chat-3"] is missing',
        ),
        (
            "INSERT INTO ks_clock_ledger (source, record_ref, activity_before, "
            "vendor_stamp_after) VALUES ('tawk', 'chat-4', '2020-01-01', '2020-01-02')",
            'ks_clock_ledger row ["tawk","chat-4"] exists, but evidence row #',
        ),
        (
            "INSERT INTO ks_requests (request_ref, kind, subject_ref, received_on, due_on, "
            "status, registered_at) VALUES ('REQ-9', 'access', 'ps_x', '2026-11-01', "
            "'2026-11-29', 'completed', '2026-11-01')",
            "ks_requests row REQ-9 is not in the evidence chain (inserted outside the suite)",
        ),
    ],
    ids=["request-due", "plan-hold-to-erase", "hold-deleted", "hold-unlifted", "ledger-deleted",
         "ledger-revived", "request-inserted"],
)  # fmt: skip
def test_a_change_behind_the_suites_back_is_named(engine, statement, named):
    keys = _work(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(statement)
    _checked, mismatches = state_evidence.reconcile(engine)
    assert [m.text for m in mismatches if named.format(**keys) in m.text], mismatches
    assert len(mismatches) == 1


def test_rows_from_before_the_mirroring_are_adopted_at_migration_005(engine):
    """A deployment upgraded to 005: rows it already had enter the proof as they are."""
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO ks_requests (request_ref, kind, subject_ref, received_on, due_on, "
            "status, registered_at) VALUES ('REQ-OLD', 'access', 'ps_x', '2026-01-01', "
            "'2026-01-29', 'completed', '2026-01-01')"
        )
        conn.exec_driver_sql("DELETE FROM ks_schema_version WHERE version = 5")
    assert migrate(engine) == [5]
    assert ("state.ks_requests", "REQ-OLD", "adopted") in _state_rows(engine)
    assert state_evidence.reconcile(engine) == (1, [])
    assert AuditTrail(engine).verify().ok
