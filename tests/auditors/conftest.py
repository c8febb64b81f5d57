"""What the auditor tests share: realistic evidence written the way the suite writes it
(AuditTrail and the requests Register), the environment the DAG, CLI and page read, and the
tampering an auditor must be able to detect."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from ks_privacy.evidence import AuditTrail, Evidence, RunContext, row_hash
from ks_privacy.pseudonym import Pseudonymiser
from ks_privacy.register import Register
from tests.fixtures.sandbox import PSEUDONYM_KEY

PEOPLE = {
    "anna": "anna.de.vries@example.nl",
    "bram": "Bram.Jansen@Example.NL ",  # normalised before hashing: same person as lower case
    "carla": "carla@example.org",
}


def pseudonym(email: str) -> str:
    return Pseudonymiser(PSEUDONYM_KEY)(email)


@dataclass
class Seeded:
    """What `seed_evidence` wrote, as an auditor would count it."""

    erased: dict[str, int]
    redacted: dict[str, int]
    held: dict[str, int]
    failed: dict[str, int]
    rows: int


def _row(source, event, outcome, ref, who, categories, age, rule=None, **details):
    return Evidence(
        event=event,
        outcome=outcome,
        source=source,
        record_ref=ref,
        subject_ref=pseudonym(PEOPLE[who]) if who else None,
        categories=tuple(categories),
        rule=rule or ",".join(f"{c}>180d" for c in categories),
        age_days=age,
        details=details,
    )


def seed_evidence(engine, run_id: str = "scheduled__2026-11-25T00:00:00+00:00") -> Seeded:
    """One day's sweep and two requests, as ks_retention_daily and the request DAGs write them."""
    trail = AuditTrail(engine, RunContext("ks_retention_daily", run_id, "activecampaign.scan", 1))
    ac, tawk, web = "activecampaign", "tawk", "website_activity"
    trail.append(
        [
            Evidence(
                event="scan.completed",
                outcome="ok",
                source=ac,
                details={
                    "full_scan": False,
                    "total": 40,
                    "scanned": 12,
                    "keep": 8,
                    "erase": 2,
                    "redact": 1,
                    "hold": 1,
                    "present.email": 12,
                    "present.name": 12,
                    "present.phone": 5,
                    "present.gender": 2,  # not in the statement's list for ActiveCampaign
                    "oldest.email": 170,
                    "oldest.name": 170,
                    "oldest.phone": 150,
                    "erase.email": 2,
                    "erase.name": 2,
                    "redact.phone": 1,
                },
            ),
            Evidence(
                event="scan.completed",
                outcome="ok",
                source=tawk,
                details={
                    "full_scan": False,
                    "total": 9,
                    "scanned": 3,
                    "keep": 2,
                    "erase": 1,
                    "present.email": 3,
                    "present.name": 3,
                    "oldest.email": 120,
                    "oldest.name": 120,
                },
            ),
            Evidence(
                event="scan.completed",
                outcome="ok",
                source=web,
                details={
                    "full_scan": True,
                    "total": 30,
                    "scanned": 30,
                    "keep": 29,
                    "erase": 1,
                    "present.ip_address": 30,
                    "present.website_activity": 30,
                    "oldest.ip_address": 179,
                    "oldest.website_activity": 179,
                },
            ),
        ]
    )
    trail.append(
        [
            _row(
                ac,
                "hold",
                "held",
                "ac-9",
                "carla",
                ["email", "name"],
                400,
                "legal-hold(email>180d)",
            ),
            _row(ac, "erase.intent", "intent", "ac-1", "anna", ["email", "name"], 200),
            _row(ac, "erase.intent", "intent", "ac-2", "bram", ["email", "name"], 190),
            _row(
                ac,
                "erase.outcome",
                "erased",
                "ac-1",
                "anna",
                ["email", "name"],
                200,
                http_status=200,
            ),
            _row(
                ac,
                "erase.outcome",
                "erased",
                "ac-2",
                "bram",
                ["email", "name"],
                190,
                http_status=200,
            ),
            _row(ac, "redact.intent", "intent", "ac-3", "carla", ["phone"], 165, "phone>160d"),
            _row(ac, "redact.outcome", "redacted", "ac-3", "carla", ["phone"], 165, "phone>160d"),
            _row(ac, "verify", "verified", "ac-1", "anna", ["email", "name"], 200),
            _row(ac, "verify", "verified", "ac-2", "bram", ["email", "name"], 190),
            _row(ac, "verify", "verified", "ac-3", "carla", ["phone"], 165, "phone>160d"),
            _row(tawk, "manual.requested", "requested", "chat-7", "anna", ["email", "name"], 181),
            _row(
                tawk,
                "manual.confirmed",
                "erased",
                "chat-7",
                "anna",
                ["email", "name"],
                181,
                confirmed_by="Olga Ops",
            ),
            _row(tawk, "verify", "verified", "chat-7", "anna", ["email", "name"], 181),
            _row(
                web, "erase.intent", "intent", "ev-1", None, ["ip_address", "website_activity"], 185
            ),
            _row(
                web,
                "erase.outcome",
                "failed",
                "ev-1",
                None,
                ["ip_address", "website_activity"],
                185,
                http_status=500,
            ),
        ]
    )
    register = Register(AuditTrail(engine, RunContext("ks_request_erasure", "manual__r1", "t", 1)))
    today = datetime.now(UTC).date()
    register.register(
        "REQ-2026-001", "erasure", pseudonym(PEOPLE["anna"]), today - timedelta(days=10), "Olga Ops"
    )
    register.set_status("REQ-2026-001", "completed", approved_by="Piet")
    register.register(
        "REQ-2026-002", "access", pseudonym(PEOPLE["carla"]), today - timedelta(days=3), "Olga Ops"
    )
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT COUNT(*) FROM ks_evidence")).scalar()
    return Seeded(
        erased={ac: 2, tawk: 1},
        redacted={ac: 1},
        held={ac: 1},
        failed={web: 1},
        rows=rows,
    )


def tamper(engine, *statements: str) -> None:
    """What an insider with database rights could do: switch the triggers off, change rows,
    switch them on again (SQLite has no switch: drop the triggers and create them again)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE ks_evidence DISABLE TRIGGER USER")
            for statement in statements:
                conn.exec_driver_sql(statement)
            conn.exec_driver_sql("ALTER TABLE ks_evidence ENABLE TRIGGER USER")
            return
        triggers = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
            "AND tbl_name = 'ks_evidence'"
        ).all()
        for name, _ in triggers:
            conn.exec_driver_sql(f"DROP TRIGGER {name}")
        for statement in statements:
            conn.exec_driver_sql(statement)
        for _, sql in triggers:
            conn.exec_driver_sql(sql)


def rehash_from(engine, seq: int) -> None:
    """The careful insider: after editing row `seq`, recompute its hash and every later row's,
    so that the chain walk alone finds nothing."""
    rows = list(AuditTrail(engine).rows("WHERE seq >= :s", {"s": seq - 1}))
    prev = rows[0]["row_hash"]
    statements = []
    for row in rows[1:]:
        row["prev_hash"] = prev
        prev = row_hash(row)
        statements.append(
            f"UPDATE ks_evidence SET prev_hash = '{row['prev_hash']}', row_hash = '{prev}' "
            f"WHERE seq = {row['seq']}"
        )
    tamper(engine, *statements)


TAMPERING = {
    "edit": (["UPDATE ks_evidence SET outcome = 'kept' WHERE seq = 7"], 7, "edited"),
    "delete": (["DELETE FROM ks_evidence WHERE seq = 7"], 8, "removed"),
    "swap": (
        [
            "UPDATE ks_evidence SET seq = -7 WHERE seq = 7",
            "UPDATE ks_evidence SET seq = 7 WHERE seq = 8",
            "UPDATE ks_evidence SET seq = 8 WHERE seq = -7",
        ],
        7,
        "reordered",
    ),
}


def airflow_url(url: sa.URL) -> str:
    """The AIRFLOW_CONN_KS_AUDIT_DB value for a test database (as tests/fixtures/sandbox.py)."""
    return url.render_as_string(hide_password=False).replace(
        "postgresql+psycopg2://", "postgresql://"
    )


@pytest.fixture
def audit_env(audit_url, tmp_path, monkeypatch):
    """Connection, pseudonym key and report folder as the DAG, the CLI and the page read them."""
    monkeypatch.setenv("AIRFLOW_CONN_KS_AUDIT_DB", airflow_url(audit_url))
    monkeypatch.setenv("AIRFLOW_VAR_KS_PSEUDONYM_KEY", PSEUDONYM_KEY)
    reports = tmp_path / "reports"
    monkeypatch.setenv("AIRFLOW_VAR_KS_AUDIT_REPORT_BASE", reports.as_uri() + "/")
    return reports


def today() -> date:
    return datetime.now(UTC).date()
