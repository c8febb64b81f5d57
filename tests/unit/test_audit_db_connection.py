"""The audit database's engine from the Airflow connection `ks_audit_db`, built through the
PostgreSQL provider so the connection's extras (sslmode, application_name, options...) reach the
database session as they would through PostgresHook; SQLite keeps working."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from ks_privacy.audit_db import (
    AuditUnavailable,
    connection,
    describe,
    engine_for_connection,
    migrate,
)


@pytest.fixture
def audit_connection(make_pg_database, monkeypatch):
    """set(**extra) -> the engine of `ks_audit_db`, a PostgreSQL connection with these extras
    (as an Airflow connection in the environment, read the way tasks read it)."""

    def set_extras(**extra) -> sa.Engine:
        url = make_pg_database()
        spec = {
            "conn_type": "postgres",
            "host": url.host,
            "port": url.port,
            "login": url.username,
            "schema": url.database,
            "extra": extra,
        }
        monkeypatch.setenv("AIRFLOW_CONN_KS_AUDIT_DB", json.dumps(spec))
        return engine_for_connection()

    return set_extras


def settings(engine: sa.Engine, *names: str) -> list[str]:
    with connection(engine) as conn:
        return [conn.execute(sa.text(f"SHOW {name}")).scalar_one() for name in names]


def test_libpq_extras_reach_the_session(audit_connection):
    engine = audit_connection(application_name="ks-audit-test", connect_timeout=7)
    assert settings(engine, "application_name", "TimeZone") == ["ks-audit-test", "UTC"]
    assert engine.url.query["connect_timeout"] == "7"


def test_sslmode_is_not_dropped(audit_connection):
    """The test server has no SSL: a connection that requires it must fail, not silently
    connect in the clear."""
    with pytest.raises(AuditUnavailable) as raised:
        settings(audit_connection(sslmode="require"), "TimeZone")
    assert "SSL" in str(raised.value)


def test_options_extra_is_kept_and_the_session_is_still_utc(audit_connection):
    engine = audit_connection(options="-c statement_timeout=4321")
    assert settings(engine, "statement_timeout", "TimeZone") == ["4321ms", "UTC"]


def test_sqlalchemy_query_extra_is_honoured(audit_connection):
    engine = audit_connection(sqlalchemy_query={"application_name": "from-sqlalchemy-query"})
    assert settings(engine, "application_name") == ["from-sqlalchemy-query"]


def test_describe_shows_neither_password_nor_query(audit_connection):
    engine = audit_connection(sslpassword="key-secret", application_name="x")
    text = describe(engine)
    assert "key-secret" not in text and "?" not in text and engine.url.database in text


def test_sqlite_connection_still_works(tmp_path, monkeypatch):
    path = tmp_path / "audit.db"
    monkeypatch.setenv(
        "AIRFLOW_CONN_KS_AUDIT_DB", json.dumps({"conn_type": "sqlite", "host": str(path)})
    )
    engine = engine_for_connection()
    assert migrate(engine)  # the schema files ran
    with connection(engine) as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM ks_evidence")).scalar_one() == 0
    assert path.exists()
