"""Least privilege on real PostgreSQL: the deployment's init creates a migration role that owns
the audit schema and a workers' role that may only append evidence. Every forbidden statement
is tried as the workers' role; tasks do not migrate, and say so when the schema is behind."""

from __future__ import annotations

import importlib.util
import uuid
from datetime import date

import pytest
import sqlalchemy as sa

from ks_privacy.audit_db import AuditSchemaOutdated, engine_for_url, ensure_schema
from ks_privacy.evidence import AuditTrail, Evidence, RunContext
from ks_privacy.register import Register
from tests.conftest import REPO
from tests.fixtures.postgres import ADMIN_URL

FORBIDDEN = {
    "update": "UPDATE ks_evidence SET outcome = 'kept' WHERE seq = 1",
    "delete": "DELETE FROM ks_evidence WHERE seq = 1",
    "truncate": "TRUNCATE ks_evidence",
    "drop trigger": "DROP TRIGGER ks_evidence_no_update_delete ON ks_evidence",
    "disable trigger": "ALTER TABLE ks_evidence DISABLE TRIGGER USER",
    "replace the trigger function": (
        "CREATE OR REPLACE FUNCTION ks_evidence_append_only() RETURNS trigger AS "
        "$$ BEGIN RETURN NEW; END; $$ LANGUAGE plpgsql"
    ),
    "drop the table": "DROP TABLE ks_evidence",
    "change the schema version": "DELETE FROM ks_schema_version",
    "create a table": "CREATE TABLE ks_shadow (x int)",
}


def _init_deployment():
    spec = importlib.util.spec_from_file_location(
        "init_deployment", REPO / "include" / "init_deployment.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def two_roles(pg_admin, monkeypatch):
    """A deployment as `airflow-init` leaves it: owner and worker roles, migrated, granted."""
    suffix = uuid.uuid4().hex[:8]
    owner, worker, database = f"ks_owner_{suffix}", f"ks_worker_{suffix}", f"ks_db_{suffix}"
    url = sa.make_url(ADMIN_URL)
    server = f"{url.host}:{url.port or 5432}"
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", ADMIN_URL)
    monkeypatch.setenv("AIRFLOW_CONN_KS_AUDIT_DB", f"postgresql://{worker}:w@{server}/{database}")
    monkeypatch.setenv(
        "AIRFLOW_CONN_KS_AUDIT_DB_OWNER", f"postgresql://{owner}:o@{server}/{database}"
    )
    monkeypatch.setenv("AIRFLOW_CONN_WEBSITE_ACTIVITY_DB", "sqlite:////tmp/unused.db")
    init = _init_deployment()
    try:
        init.create_databases()
        init.migrate_audit_schema()
        init.migrate_audit_schema()  # the next `docker compose up`: nothing to do, grants again
        yield {
            "owner": engine_for_url(url.set(username=owner, password="o", database=database)),
            "worker": engine_for_url(url.set(username=worker, password="w", database=database)),
            "names": (owner, worker, database),
        }
    finally:
        with pg_admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{worker}"')
            conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{owner}"')


def test_the_owner_owns_everything_the_worker_nothing(two_roles):
    owner, _worker, database = two_roles["names"]
    with two_roles["owner"].connect() as conn:
        owners = set(
            conn.execute(
                sa.text("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")
            ).scalars()
        )
        db_owner = conn.execute(
            sa.text("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = :d"),
            {"d": database},
        ).scalar()
    assert owners == {owner} and db_owner == owner


def test_the_worker_appends_and_does_its_work(two_roles):
    engine = two_roles["worker"]
    trail = AuditTrail(engine, RunContext("ks_retention_daily", "r1", "t", 1))
    assert trail.append([Evidence(event="scan.completed", outcome="ok")]) == [1]
    register = Register(trail)
    register.register("REQ-1", "access", "ps_x", date(2026, 11, 1), "Olga")
    register.set_status("REQ-1", "completed")
    assert trail.verify().ok
    ensure_schema(engine)  # up to date: nothing to do, nothing refused


@pytest.mark.parametrize("case", list(FORBIDDEN))
def test_the_worker_may_not(two_roles, case):
    engine = two_roles["worker"]
    AuditTrail(engine).append([Evidence(event="scan.completed", outcome="ok")])
    with pytest.raises(sa.exc.ProgrammingError) as refused, engine.begin() as conn:
        conn.exec_driver_sql(FORBIDDEN[case])
    message = str(refused.value.orig)
    assert "permission denied" in message or "must be owner" in message, message
    assert AuditTrail(engine).verify().length == 1


def test_a_task_does_not_migrate_and_says_what_is_missing(two_roles):
    with two_roles["owner"].begin() as conn:
        conn.exec_driver_sql("DELETE FROM ks_schema_version WHERE version = 5")
    with pytest.raises(AuditSchemaOutdated, match=r"lacks migration\(s\) 005.*init_deployment"):
        ensure_schema(two_roles["worker"])


def test_compose_gives_each_role_and_the_signing_key_to_whom_needs_it():
    """docker-compose.yaml (validated against the Compose Specification in
    tests/deployment/test_compose.py): the owner's connection reaches airflow-init alone, the
    signing key the workers alone; both passwords and the key come from .env."""
    import yaml

    compose = yaml.safe_load((REPO / "docker-compose.yaml").read_text())
    image = compose["x-airflow-common"]["image"]
    services = {n: s for n, s in compose["services"].items() if s.get("image") == image}
    for name, service in services.items():
        env = service.get("environment", {})
        assert ("AIRFLOW_CONN_KS_AUDIT_DB_OWNER" in env) == (name == "airflow-init"), name
        assert ("AIRFLOW_VAR_KS_AUDIT_PRIVATE_KEY" in env) == (name == "airflow-worker"), name
        worker_conn = env["AIRFLOW_CONN_KS_AUDIT_DB"]
        assert worker_conn.startswith("postgresql://ks_audit:${KS_AUDIT_DB_PASSWORD:?")
        assert "/opt/airflow/ks-audit" in " ".join(service["volumes"]), name
        assert env["AIRFLOW_VAR_KS_AUDIT_ANCHOR_BASE"].startswith("file:///opt/airflow/ks-audit/")
    owner = services["airflow-init"]["environment"]["AIRFLOW_CONN_KS_AUDIT_DB_OWNER"]
    assert owner.startswith("postgresql://ks_audit_owner:${KS_AUDIT_OWNER_PASSWORD:?")
    assert owner.endswith("@postgres:5432/ks_audit")  # the same database as the workers'
    key = services["airflow-worker"]["environment"]["AIRFLOW_VAR_KS_AUDIT_PRIVATE_KEY"]
    assert key.startswith("${AIRFLOW_VAR_KS_AUDIT_PRIVATE_KEY:?")
    example = (REPO / ".env.example").read_text()
    for variable in ("KS_AUDIT_OWNER_PASSWORD", "AIRFLOW_VAR_KS_AUDIT_PRIVATE_KEY"):
        assert f"\n{variable}=\n" in example, variable
