"""The audit trail on real PostgreSQL (and SQLite, the embedded default): chained, append-only,
tamper-evident, and one chain under concurrent writers."""

from __future__ import annotations

import multiprocessing

import pytest
import sqlalchemy as sa

from ks_privacy.audit_db import AuditUnavailable, engine_for_url, migrate, migrations
from ks_privacy.evidence import AuditTrail, Evidence, RunContext, log_line

CTX = RunContext("ks_retention_daily", "manual__1", "activecampaign.apply", 1)


def erased(ref: str, subject: str = "ps_abc") -> Evidence:
    return Evidence(
        event="sweep.outcome",
        outcome="erased",
        source="activecampaign",
        record_ref=ref,
        subject_ref=subject,
        categories=("name", "email"),
        rule="email>180d,name>180d",
        age_days=181,
        details={"http_status": 200},
    )


@pytest.fixture(params=["postgresql", "sqlite"])
def any_audit_engine(request, tmp_path):
    if request.param == "postgresql":
        return request.getfixturevalue("audit_engine")
    engine = engine_for_url(f"sqlite:///{tmp_path}/audit.db")
    migrate(engine)
    return engine


def test_appends_chain_and_verify(any_audit_engine):
    trail = AuditTrail(any_audit_engine, CTX)
    assert trail.append([erased("1"), erased("2")]) == [1, 2]
    assert trail.append([erased("3")]) == [3]
    report = trail.verify()
    assert report.ok, report.summary()
    assert report.length == 3
    rows = list(trail.rows())
    assert rows[0]["prev_hash"] == "0" * 64
    assert rows[1]["prev_hash"] == rows[0]["row_hash"]
    assert report.head_hash == rows[2]["row_hash"]
    assert rows[2]["task_id"] == "activecampaign.apply"
    assert rows[2]["categories"] == "email,name"


def test_schema_creation_is_idempotent_and_versioned(any_audit_engine):
    assert migrate(any_audit_engine) == []
    with any_audit_engine.connect() as conn:
        versions = [r[0] for r in conn.exec_driver_sql("SELECT version FROM ks_schema_version")]
    shipped = [v for v, _ in migrations(any_audit_engine.dialect.name)]
    assert sorted(versions) == shipped and shipped[:5] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    "statement", ["UPDATE ks_evidence SET outcome = 'kept'", "DELETE FROM ks_evidence"]
)
def test_update_and_delete_are_refused(any_audit_engine, statement):
    AuditTrail(any_audit_engine, CTX).append([erased("1")])
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), any_audit_engine.begin() as conn:
        conn.exec_driver_sql(statement)
    assert AuditTrail(any_audit_engine).verify().length == 1


def test_truncate_is_refused(audit_engine):
    AuditTrail(audit_engine, CTX).append([erased("1")])
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), audit_engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE ks_evidence")


def _tamper(engine, *statements):
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE ks_evidence DISABLE TRIGGER USER")
        for statement in statements:
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql("ALTER TABLE ks_evidence ENABLE TRIGGER USER")


@pytest.mark.parametrize(
    ("statements", "bad_seq", "problem"),
    [
        (["UPDATE ks_evidence SET outcome = 'kept' WHERE seq = 3"], 3, "edited"),
        (["UPDATE ks_evidence SET subject_ref = 'ps_other' WHERE seq = 2"], 2, "edited"),
        (["DELETE FROM ks_evidence WHERE seq = 2"], 3, "removed"),
        (
            [  # swap the contents of rows 2 and 3, keeping their positions
                "UPDATE ks_evidence SET seq = -2 WHERE seq = 2",
                "UPDATE ks_evidence SET seq = 2 WHERE seq = 3",
                "UPDATE ks_evidence SET seq = 3 WHERE seq = -2",
            ],
            2,
            "reordered",
        ),
    ],
)
def test_tampering_is_detected_and_named(audit_engine, statements, bad_seq, problem):
    trail = AuditTrail(audit_engine, CTX)
    trail.append([erased(str(i)) for i in range(1, 6)])
    _tamper(audit_engine, *statements)
    report = trail.verify()
    assert not report.ok
    assert report.first_bad_seq == bad_seq
    assert problem in report.problem
    assert f"row #{bad_seq}" in report.summary()


def _append_many(url: str, worker: int, batches: int) -> None:
    engine = engine_for_url(url)
    trail = AuditTrail(engine, RunContext("concurrency", f"run{worker}", "t", 1))
    for batch in range(batches):
        trail.append([erased(f"{worker}-{batch}-{i}") for i in range(3)])


def test_concurrent_appends_from_processes_keep_one_chain(audit_url):
    url = audit_url.render_as_string(hide_password=False)
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_append_many, args=(url, w, 25)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(120)
        assert process.exitcode == 0
    report = AuditTrail(engine_for_url(audit_url)).verify()
    assert report.ok, report.summary()
    assert report.length == 4 * 25 * 3
    refs = {row["record_ref"] for row in AuditTrail(engine_for_url(audit_url)).rows()}
    assert len(refs) == 300


def test_unreachable_database_is_a_clear_error():
    engine = engine_for_url("postgresql+psycopg2://postgres@127.0.0.1:1/nowhere")
    with pytest.raises(AuditUnavailable, match=r"cannot be written.*Nothing was deleted"):
        AuditTrail(engine, CTX).append([erased("1")])


@pytest.mark.parametrize("value", ["jan@example.nl", "x" * 300, "line\nbreak"])
def test_details_refuse_what_could_be_personal(value):
    with pytest.raises(ValueError, match="never carry personal data"):
        Evidence(event="e", outcome="o", details={"note": value})


def test_log_line_has_the_auditor_fields():
    row = {
        "seq": 7,
        "event": "sweep.outcome",
        "outcome": "erased",
        "source": "tawk",
        "record_ref": "chat-1",
        "subject_ref": "ps_1",
        "categories": "email",
        "rule": "email>180d",
        "age_days": 181,
        "details": "{}",
    }
    assert log_line(row) == (
        "EVIDENCE seq=7 event=sweep.outcome outcome=erased source=tawk ref=chat-1 subject=ps_1 "
        "categories=email rule=email>180d age_days=181"
    )


def test_time_never_runs_backwards_and_a_backwards_step_is_tampering(any_audit_engine, monkeypatch):
    """A worker whose clock lags still stamps no row before the row it follows; so a row
    stamped earlier than its predecessor (re-hashed so the hashes fit) can only be rewritten."""
    from datetime import UTC, datetime, timedelta

    import ks_privacy.evidence as evidence_module
    from tests.auditors.conftest import rehash_from, tamper

    trail = AuditTrail(any_audit_engine, CTX)
    trail.append([erased("1"), erased("2")])

    class LaggingClock(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) - timedelta(hours=1)

    monkeypatch.setattr(evidence_module, "datetime", LaggingClock)
    trail.append([erased("3")])
    monkeypatch.undo()
    rows = list(trail.rows())
    assert rows[2]["recorded_at"] == rows[1]["recorded_at"]  # held at its predecessor's time
    assert trail.verify().ok

    earlier = datetime(2020, 1, 1, tzinfo=UTC)
    with any_audit_engine.connect() as conn:
        dialect = conn.dialect.name
    stamp = "'2020-01-01 00:00:00+00:00'" if dialect == "postgresql" else f"'{earlier}'"
    tamper(any_audit_engine, f"UPDATE ks_evidence SET recorded_at = {stamp} WHERE seq = 3")
    rehash_from(any_audit_engine, 3)
    report = trail.verify()
    assert not report.ok and report.first_bad_seq == 3
    assert "time runs backwards" in report.problem
