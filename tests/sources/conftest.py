"""Adapters and hooks against the sandbox emulators over real HTTP.

`vendors` / `make_vendors` are those of tests/fixtures/sandbox.py except that no audit database
is made unless a test asks for `audit_engine` (creating and migrating a PostgreSQL database per
test costs a second, and no test here writes evidence).
"""

from __future__ import annotations

import json
import os

import pytest
import sqlalchemy as sa

from ks_privacy.policy import RetentionPolicy, load_policy
from ks_privacy.sources import build_source
from ks_privacy.sources.base import Source
from tests.fixtures.sandbox import Vendors, vendors_factory
from tests.sources.truth import SOURCES

# No test here writes evidence: the audit connection points at a database that does not exist.
NO_AUDIT_DB = sa.make_url("postgresql+psycopg2://postgres@127.0.0.1:5432/ks_no_audit_db_here")


@pytest.fixture
def make_vendors(seeded_templates, tmp_path, monkeypatch):
    """Factory: a copy of a seeded sandbox, started, with Airflow's connections pointing at it."""
    make, started = vendors_factory(seeded_templates, tmp_path, monkeypatch, NO_AUDIT_DB)
    yield make
    for box in started:
        box.stop()


@pytest.fixture
def vendors(make_vendors) -> Vendors:
    return make_vendors()


@pytest.fixture(scope="session")
def policy() -> RetentionPolicy:
    return load_policy()


@pytest.fixture
def build(policy):
    """build(name) -> a fresh adapter reading the connections the vendors fixture set."""

    def make(name: str) -> Source:
        return build_source(policy, name)

    return make


@pytest.fixture(params=SOURCES)
def source_name(request) -> str:
    return request.param


@pytest.fixture
def source(vendors, build, source_name) -> Source:
    return build(source_name)


@pytest.fixture
def set_conn_extra(monkeypatch):
    """set_conn_extra(conn_id, **extra): change a connection's extras (env-var connections)."""

    def change(conn_id: str, **extra) -> None:
        key = f"AIRFLOW_CONN_{conn_id.upper()}"
        conn = json.loads(os.environ[key])
        conn["extra"] = {**conn.get("extra", {}), **extra}
        monkeypatch.setenv(key, json.dumps(conn))

    return change


@pytest.fixture
def set_conn(monkeypatch):
    """set_conn(conn_id, **fields): change a connection's top-level fields (password, host)."""

    def change(conn_id: str, **fields) -> None:
        key = f"AIRFLOW_CONN_{conn_id.upper()}"
        conn = json.loads(os.environ[key])
        conn.update(fields)
        monkeypatch.setenv(key, json.dumps(conn))

    return change
