"""The audit database: engine from the Airflow connection `ks_audit_db`, and its versioned schema.

PostgreSQL in production and tests, SQLite as the embedded default. The schema lives in numbered
SQL files shipped in the package (`ks_privacy/data/audit_schema/<dialect>/`); `migrate` applies
the missing ones, once, under a lock.

Two roles on PostgreSQL (least privilege):
- the **migration role** (connection `ks_audit_db_owner`, used only by the deployment's init,
  `include/init_deployment.py`) owns the database and every table, and runs `migrate`;
- the **workers' role** (connection `ks_audit_db`: tasks, the auditors' page, the CLI) gets
  `grant_worker_role`: SELECT and INSERT on the append-only tables (never UPDATE, DELETE or
  TRUNCATE; not being the owner, it cannot drop or disable their triggers either), SELECT on
  `ks_schema_version`, and read/write on the working tables (whose changes the chain mirrors).

Tasks never migrate PostgreSQL: `ensure_schema` refuses to start on a schema that lacks a
migration the package ships, naming the missing versions. SQLite (one file, one user) is
migrated on first use.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources.abc import Traversable

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import DBAPIError

from ks_privacy.resources import AUDIT_SCHEMA

AUDIT_CONN_ID = "ks_audit_db"
_MIGRATION_LOCK = 0x6B735F6D  # "ks_m": PostgreSQL advisory lock key for schema changes
_FILE_PATTERN = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


OWNER_CONN_ID = "ks_audit_db_owner"
# tables the workers may only append to: those guarded by an `*_append_only` trigger function
APPEND_ONLY_TABLES = ("ks_evidence",)
_AFTER_MIGRATION = {5: ("ks_privacy.state_evidence", "adopt_existing")}


class AuditUnavailable(RuntimeError):
    """The audit database cannot be reached or written. Nothing may be deleted without evidence."""


class AuditSchemaOutdated(RuntimeError):
    """The audit schema lacks migrations this package ships; the workers may not apply them."""


def url_from_airflow_connection(conn) -> URL:
    """SQLAlchemy URL for an Airflow connection of type postgres or sqlite.

    PostgreSQL: the provider builds it (`PostgresHook.sqlalchemy_url`: login, host, port,
    schema, extras `sqlalchemy_query` and `sqlalchemy_scheme`; psycopg2 unless the latter says
    otherwise), and the connection's other extras (`sslmode`, `sslrootcert`, `application_name`,
    `connect_timeout`, ...) go along as libpq parameters, exactly those `PostgresHook.get_conn`
    would pass: the audit engine connects the way Airflow's own hook does.
    """
    if conn.conn_type in ("postgres", "postgresql"):
        from airflow.providers.postgres.hooks.postgres import PostgresHook

        extra = conn.extra_dejson
        hook = PostgresHook(
            postgres_conn_id=conn.conn_id,
            connection=conn,
            sqlalchemy_scheme=extra.get("sqlalchemy_scheme") or "postgresql+psycopg2",
        )
        url = hook.sqlalchemy_url
        libpq = {
            key: str(value).lower() if isinstance(value, bool) else str(value)
            for key, value in extra.items()
            if key not in PostgresHook.ignored_extra_options and value is not None
        }
        return url.update_query_dict({**libpq, **url.query})  # sqlalchemy_query wins
    if conn.conn_type == "sqlite":
        return URL.create("sqlite", database=conn.host or conn.schema)  # JSON form or URI form
    raise AuditUnavailable(
        f"connection {conn.conn_id!r} has type {conn.conn_type!r}; the audit database must be "
        "'postgres' or 'sqlite'"
    )


def engine_for_connection(conn_id: str = AUDIT_CONN_ID) -> Engine:
    """The engine behind an Airflow connection (read lazily, inside a task, never at import)."""
    from airflow.sdk import BaseHook

    return engine_for_url(url_from_airflow_connection(BaseHook.get_connection(conn_id)))


@functools.cache
def engine_for_url(url: URL | str) -> Engine:
    url = sa.make_url(url)
    if url.get_backend_name() == "sqlite":
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we issue BEGIN IMMEDIATE ourselves
            dbapi_conn.execute("PRAGMA journal_mode=WAL")
            dbapi_conn.execute("PRAGMA foreign_keys=ON")

        @sa.event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # one writer at a time: the chain cannot fork

        return engine
    # UTC for every session, after any `options` the connection sets; a 10 s connect timeout
    # unless it sets one (connect_args would override the URL's own values).
    options = url.query.get("options")
    connect_args: dict = {"options": f"{options} -c timezone=UTC" if options else "-c timezone=UTC"}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = 10
    return sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def describe(engine: Engine) -> str:
    """Where the audit database is, for error messages: no password, and no query (the
    connection's libpq parameters, where an `sslpassword` could be)."""
    return engine.url.set(query={}).render_as_string(hide_password=True)


@contextmanager
def _clear_errors(engine: Engine) -> Iterator[None]:
    """An unreachable database becomes AuditUnavailable, saying where and that nothing was
    deleted (every vendor write needs its evidence first)."""
    try:
        yield
    except DBAPIError as exc:
        if exc.connection_invalidated or isinstance(exc, sa.exc.OperationalError):
            raise AuditUnavailable(
                f"the audit database ({describe(engine)}) cannot be written: "
                f"{str(exc.orig).strip().splitlines()[0]}. Nothing was deleted: every deletion "
                "needs its evidence first."
            ) from exc
        raise


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """A write transaction on the audit database."""
    with _clear_errors(engine), engine.begin() as conn:
        yield conn


@contextmanager
def connection(engine: Engine) -> Iterator[Connection]:
    """A read connection on the audit database."""
    with _clear_errors(engine), engine.connect() as conn:
        yield conn


def migrations(dialect: str) -> list[tuple[int, Traversable]]:
    folder = AUDIT_SCHEMA / dialect
    found = []
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if not path.name.endswith(".sql"):
            continue
        match = _FILE_PATTERN.match(path.name)
        if not match:
            raise RuntimeError(f"unexpected file in {folder}: {path.name} (want NNN_name.sql)")
        found.append((int(match.group(1)), path))
    return found


def migrate(engine: Engine) -> list[int]:
    """Apply the schema files not yet applied; returns the versions applied now."""
    dialect = engine.dialect.name
    applied_now = []
    with transaction(engine) as conn:
        if dialect == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
        conn.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS ks_schema_version ("
            "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        done = {row[0] for row in conn.exec_driver_sql("SELECT version FROM ks_schema_version")}
        for version, path in migrations(dialect):
            if version in done:
                continue
            _run_script(conn, path.read_text(encoding="utf-8"))
            conn.execute(
                sa.text(
                    "INSERT INTO ks_schema_version (version, name, applied_at) "
                    "VALUES (:v, :n, CURRENT_TIMESTAMP)"
                ),
                {"v": version, "n": path.name},
            )
            after = _AFTER_MIGRATION.get(version)
            if after:  # a step SQL cannot do (e.g. hashing rows into the evidence chain)
                getattr(importlib.import_module(after[0]), after[1])(conn)
            applied_now.append(version)
    return applied_now


def missing_migrations(engine: Engine) -> list[int]:
    """Versions the package ships that the database has not applied (all, for a new one)."""
    shipped = [version for version, _ in migrations(engine.dialect.name)]
    with connection(engine) as conn:
        if not sa.inspect(conn).has_table("ks_schema_version"):
            return shipped
        done = {row[0] for row in conn.exec_driver_sql("SELECT version FROM ks_schema_version")}
    return [version for version in shipped if version not in done]


def ensure_schema(engine: Engine) -> None:
    """Called before a task uses the audit database. SQLite is migrated here; PostgreSQL must
    already be up to date (the workers' role may not change the schema): otherwise stop, saying
    what is missing and how the deployment applies it."""
    missing = missing_migrations(engine)
    if not missing:
        return
    if engine.dialect.name == "sqlite":
        migrate(engine)
        return
    raise AuditSchemaOutdated(
        f"the audit schema on {describe(engine)} lacks migration(s) "
        f"{', '.join(f'{v:03d}' for v in missing)}; tasks do not migrate PostgreSQL. Run "
        f"`include/init_deployment.py` (docker compose: airflow-init), which migrates with the "
        f"schema owner's connection `{OWNER_CONN_ID}`."
    )


def append_only_tables(conn: Connection) -> list[str]:
    """The tables guarded by an append-only trigger function (`*_append_only`), and ours."""
    found = set(APPEND_ONLY_TABLES)
    rows = conn.exec_driver_sql(
        "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "JOIN pg_proc p ON p.oid = t.tgfoid WHERE NOT t.tgisinternal "
        "AND p.proname LIKE '%%append_only'"
    )
    found.update(r[0] for r in rows)
    return sorted(found)


def grant_worker_role(owner_engine: Engine, role: str) -> list[str]:
    """As the schema owner: give the workers' role what it needs and nothing more. Run after
    every migration (new tables need grants). Returns the statements run."""
    if owner_engine.dialect.name != "postgresql":
        return []
    with transaction(owner_engine) as conn:
        quote = conn.dialect.identifier_preparer.quote
        who = quote(role)
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
        append_only = append_only_tables(conn)
        tables = conn.execute(
            sa.text("SELECT tablename FROM pg_tables WHERE schemaname = :s ORDER BY tablename"),
            {"s": schema},
        ).scalars()
        statements = [f"REVOKE CREATE ON SCHEMA {quote(schema)} FROM PUBLIC"]
        for table in tables:
            if table == "ks_schema_version":
                grant = "SELECT"
            elif table in append_only:
                grant = "SELECT, INSERT"
            else:
                grant = "SELECT, INSERT, UPDATE, DELETE"
            statements.append(f"REVOKE ALL ON {quote(table)} FROM {who}")
            statements.append(f"GRANT {grant} ON {quote(table)} TO {who}")
        for statement in statements:
            conn.exec_driver_sql(statement)
    return statements


def _run_script(conn: Connection, script: str) -> None:
    if conn.dialect.name == "postgresql":
        with conn.connection.cursor() as cursor:  # no parameters: '%' in PL/pgSQL stays literal
            cursor.execute(script)
        return
    # sqlite3 runs one statement per execute; split on ';' that ends a line outside a trigger body
    statement: list[str] = []
    depth = 0
    for line in script.splitlines():
        stripped = line.strip()
        if stripped.startswith("--") or not stripped:
            continue
        statement.append(line)
        if re.match(r"^BEGIN$", stripped, re.I):
            depth += 1
        if re.match(r"^END;$", stripped, re.I):
            depth -= 1
        if stripped.endswith(";") and depth == 0:
            conn.exec_driver_sql("\n".join(statement))
            statement = []
