#!/usr/bin/env python3
"""What a new Airflow deployment of the suite needs besides `airflow db migrate`. Idempotent:
compose's airflow-init runs it at every `docker compose up`; the native distributed test runs it
too. Reads everything from the environment Airflow itself reads.

    include/init_deployment.py [--create-databases] [--write-passwords-file]

--create-databases      for every PostgreSQL connection of the suite given as a URI
                        (AIRFLOW_CONN_KS_AUDIT_DB, AIRFLOW_CONN_WEBSITE_ACTIVITY_DB) on the
                        metadata database's server:
                        create its role and database when missing, using the metadata
                        database's (superuser) login. Existing roles and passwords are left alone.
                        With AIRFLOW_CONN_KS_AUDIT_DB_OWNER the audit database gets two roles:
                        that connection's (the migration role, owner of the database) and
                        ks_audit_db's (the workers' role, owner of nothing).
--write-passwords-file  SimpleAuthManager's passwords file
                        ([core] simple_auth_manager_passwords_file) for the admin user
                        _AIRFLOW_WWW_USER_USERNAME / _AIRFLOW_WWW_USER_PASSWORD.

Always: the audit trail's schema (ks_privacy.audit_db.migrate, as the migration role of
connection ks_audit_db_owner when it exists, else on ks_audit_db), then the workers' grants
(ks_privacy.audit_db.grant_worker_role: INSERT but no UPDATE/DELETE/TRUNCATE on the append-only
evidence), and one pool per source of the retention policy, one slot each (created when missing;
slots someone set later in the UI are kept).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import sqlalchemy as sa

SUITE_DATABASES = ("AIRFLOW_CONN_KS_AUDIT_DB", "AIRFLOW_CONN_WEBSITE_ACTIVITY_DB")
AUDIT_OWNER = "AIRFLOW_CONN_KS_AUDIT_DB_OWNER"


def _url(value: str) -> sa.URL:
    url = sa.make_url(value)
    if url.get_backend_name() in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg2")
    return url


def create_databases() -> None:
    admin_url = _url(os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    try:
        for variable in SUITE_DATABASES:
            value = os.environ.get(variable, "")
            if not value or value.lstrip().startswith("{"):
                print(f"{variable}: not a URI in the environment; left to its owner")
                continue
            url = _url(value)
            same_server = (url.host, url.port or 5432) == (admin_url.host, admin_url.port or 5432)
            if url.get_backend_name() != "postgresql" or not same_server:
                print(f"{variable}: not a database on this PostgreSQL server; left to its owner")
                continue
            owner = _audit_owner_url() if variable == "AIRFLOW_CONN_KS_AUDIT_DB" else None
            with admin.connect() as conn:
                if owner is not None and owner.database == url.database:
                    _ensure_role(conn, owner)
                    _ensure_database(conn, owner.database, owner.username)
                    _ensure_role(conn, url)  # the workers' role: owns nothing
                    _hand_over(admin_url, url.database, url.username, owner.username)
                else:
                    _ensure_role(conn, url)
                    _ensure_database(conn, url.database, url.username)
    finally:
        admin.dispose()


def _audit_owner_url() -> sa.URL | None:
    value = os.environ.get(AUDIT_OWNER, "")
    return _url(value) if value and not value.lstrip().startswith("{") else None


def _ensure_role(conn: sa.Connection, url: sa.URL) -> None:
    role = url.username
    quote = conn.dialect.identifier_preparer.quote
    if not conn.scalar(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}):
        password = conn.scalar(sa.text("SELECT quote_literal(:p)"), {"p": url.password or ""})
        conn.exec_driver_sql(f"CREATE ROLE {quote(role)} LOGIN PASSWORD {password}")
        print(f"role {role} created")


def _hand_over(admin_url: sa.URL, database: str, worker: str, owner: str) -> None:
    """A deployment from before the two roles: the workers' role owned the audit database and
    its tables. Give them to the migration role, so the workers can no longer drop triggers."""
    engine = sa.create_engine(
        admin_url.set(database=database), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool
    )
    try:
        with engine.connect() as conn:
            owns = conn.scalar(
                sa.text("SELECT count(*) FROM pg_tables WHERE tableowner = :w"), {"w": worker}
            )
            if owns:
                quote = conn.dialect.identifier_preparer.quote
                conn.exec_driver_sql(f"REASSIGN OWNED BY {quote(worker)} TO {quote(owner)}")
                conn.exec_driver_sql(f"ALTER DATABASE {quote(database)} OWNER TO {quote(owner)}")
                print(f"audit database {database}: {owns} tables handed from {worker} to {owner}")
    finally:
        engine.dispose()


def _ensure_database(conn: sa.Connection, database: str, owner: str) -> None:
    quote = conn.dialect.identifier_preparer.quote
    if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database}):
        conn.exec_driver_sql(f"CREATE DATABASE {quote(database)} OWNER {quote(owner)}")
        print(f"database {database} created, owned by {owner}")


def write_passwords_file() -> None:
    path = Path(os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
    user = os.environ.get("_AIRFLOW_WWW_USER_USERNAME") or "airflow"
    password = os.environ.get("_AIRFLOW_WWW_USER_PASSWORD")
    if not password:
        sys.exit("init_deployment.py: _AIRFLOW_WWW_USER_PASSWORD is empty; set it in .env")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({user: password}))
    path.chmod(0o600)
    print(f"password of {user!r} written to {path}")


def migrate_audit_schema() -> None:
    """Migrate as the schema owner (connection ks_audit_db_owner, env or secrets backend), then
    grant the workers' role (connection ks_audit_db) what it may do. Without an owner
    connection (SQLite, or one role for everything), ks_audit_db migrates its own schema."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    from ks_privacy.audit_db import (
        AUDIT_CONN_ID,
        OWNER_CONN_ID,
        describe,
        engine_for_connection,
        grant_worker_role,
        migrate,
    )

    try:
        BaseHook.get_connection(OWNER_CONN_ID)
        owner_id = OWNER_CONN_ID
    except AirflowNotFoundException:
        owner_id = AUDIT_CONN_ID
    engine = engine_for_connection(owner_id)
    applied = migrate(engine)
    print(f"audit schema on {describe(engine)} as {owner_id}: {applied or 'up to date'}")
    if owner_id == OWNER_CONN_ID:
        worker = BaseHook.get_connection(AUDIT_CONN_ID).login
        statements = grant_worker_role(engine, worker)
        print(f"workers' role {worker}: {len(statements)} grants (append-only tables: INSERT only)")


def create_pools() -> None:
    from airflow.models.pool import Pool

    from ks_privacy.dag_support import pool_for
    from ks_privacy.policy import load_policy

    for source in load_policy().sources:
        name = pool_for(source)
        if Pool.get_pool(name) is None:
            Pool.create_or_update_pool(
                name,
                slots=1,
                description=f"{source}: one vendor account, one rate limit",
                include_deferred=False,
            )
            print(f"pool {name} created (1 slot)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--create-databases", action="store_true")
    parser.add_argument("--write-passwords-file", action="store_true")
    args = parser.parse_args(argv)
    if args.create_databases:
        create_databases()
    if args.write_passwords_file:
        write_passwords_file()
    migrate_audit_schema()
    create_pools()
    return 0


if __name__ == "__main__":
    sys.exit(main())
