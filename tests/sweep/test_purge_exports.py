"""Access exports are personal data too: the sweep deletes them after export_retention_days."""

from __future__ import annotations

import os
from datetime import timedelta

from tests.fixtures.dagrun import task_states
from tests.fixtures.sandbox import NOW


def make_export(base, ref: str, age_days: int):
    folder = base / "access" / ref
    folder.mkdir(parents=True)
    archive = folder / f"{ref}.zip"
    archive.write_bytes(b"PK personal data")
    stamp = (NOW - timedelta(days=age_days)).timestamp()
    os.utime(archive, (stamp, stamp))
    return folder


def test_exports_older_than_30_days_are_deleted_with_evidence(
    vendors, run_dag, tmp_path, monkeypatch
):
    monkeypatch.setenv("AIRFLOW_VAR_KS_EXPORT_BASE", f"file://{tmp_path}/exports/")
    old = make_export(tmp_path / "exports", "REQ-2026-0001", age_days=31)
    fresh = make_export(tmp_path / "exports", "REQ-2026-0002", age_days=29)
    run = run_dag("ks_retention_daily", NOW, {"sources": []})
    assert str(run.state) == "success", task_states(run)
    assert not old.exists() and fresh.exists()
    import sqlalchemy as sa

    engine = sa.create_engine(vendors.audit_url)
    with engine.connect() as conn:
        purged = (
            conn.execute(
                sa.text("SELECT record_ref FROM ks_evidence WHERE event = 'export.purge.outcome'")
            )
            .scalars()
            .all()
        )
    engine.dispose()
    assert purged == ["REQ-2026-0001"]
