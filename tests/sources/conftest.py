"""Adapters and hooks against the sandbox emulators over real HTTP.

`vendors` / `make_vendors` behave as those of tests/fixtures/sandbox.py (seeded emulators, started,
Airflow's connections pointing at them, 200 requests/s), with two differences that make this
folder fast: each seed is made once per session and copied per test (a copy takes a millisecond,
a seed a quarter second), and no audit database is made unless a test asks for `audit_engine`
(creating and migrating a PostgreSQL database per test cost a second).
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from ks_privacy.policy import RetentionPolicy, load_policy
from ks_privacy.sources import build_source
from ks_privacy.sources.base import Source
from sandbox import Sandbox
from sandbox.seed import seed
from tests.fixtures.sandbox import FAST, NOW, PSEUDONYM_KEY, Vendors, airflow_connections
from tests.sources.truth import SOURCES

# No test here writes evidence: the audit connection points at a database that does not exist.
NO_AUDIT_DB = sa.make_url("postgresql+psycopg2://postgres@127.0.0.1:5432/ks_no_audit_db_here")


@pytest.fixture(scope="session")
def seeded_templates(tmp_path_factory):
    """(contacts, seed, now) -> (sandbox db, website db) made once per session."""
    root = tmp_path_factory.mktemp("sources-seeds")
    made: dict[tuple, tuple[Path, Path]] = {}

    def template(contacts: int, seed_value: int, now: datetime) -> tuple[Path, Path]:
        key = (contacts, seed_value, now)
        if key not in made:
            name = f"c{contacts}-s{seed_value}-{len(made)}"
            db, web = root / f"{name}.db", root / f"{name}-web.db"
            seed(db, f"sqlite:///{web}", contacts=contacts, seed=seed_value, now=now)
            made[key] = (db, web)
        return made[key]

    return template


@pytest.fixture
def make_vendors(seeded_templates, tmp_path, monkeypatch):
    """Factory: a copy of a seeded sandbox, started, with Airflow's connections pointing at it."""
    started: list[Sandbox] = []

    def make(contacts: int = 120, seed_value: int = 7, now: datetime = NOW) -> Vendors:
        template_db, template_web = seeded_templates(contacts, seed_value, now)
        db = tmp_path / f"sandbox-{len(started)}.db"
        web = tmp_path / f"website-{len(started)}.db"
        shutil.copyfile(template_db, db)
        shutil.copyfile(template_web, web)
        website = f"sqlite:///{web}"
        box = Sandbox(db).start()
        started.append(box)
        for service in ("activecampaign", "google", "tawk"):
            requests.post(
                f"{box.control_url(service)}/rate_limit", json={"per_second": FAST}, timeout=10
            ).raise_for_status()
        for key, value in airflow_connections(box, website, NO_AUDIT_DB).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("AIRFLOW_VAR_KS_PSEUDONYM_KEY", PSEUDONYM_KEY)
        return Vendors(box, db, website, NO_AUDIT_DB)

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
