"""Every DAG imports cleanly and follows the house rules, and importing does no IO beyond the
policy file (no connection, variable, network or database access at parse time)."""

from __future__ import annotations

import os
import socket

import pytest

from ks_privacy.resources import DEFAULT_POLICY
from tests.conftest import REPO

DAG_FILES = sorted((REPO / "dags").glob("*.py"))


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert len(dagbag.dags) == len(DAG_FILES)


def test_every_dag_file_defines_its_dag(dagbag):
    ids = set(dagbag.dag_ids)
    for path in DAG_FILES:
        assert path.stem in ids, f"{path.name} should define a DAG with dag_id {path.stem!r}"


def test_house_rules(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags and "privacy" in dag.tags, f"{dag_id}: tag it 'privacy'"
        assert dag.doc_md and len(dag.doc_md) > 200, f"{dag_id}: doc_md explains the DAG"
        assert not dag.catchup, f"{dag_id}: no catchup (a backlog of sweeps would race)"
        for task in dag.tasks:
            assert task.owner == "privacy-ops", f"{dag_id}.{task.task_id}: owner"
            assert task.retries is not None, f"{dag_id}.{task.task_id}: retries set"


def test_request_dags_only_run_when_a_person_triggers_them(dagbag):
    request_dags = [d for d in dagbag.dags.values() if "request" in d.tags and not d.schedule]
    assert len(request_dags) == 4
    for dag in request_dags:
        kinds = {getattr(t, "value", t) for t in dag.allowed_run_types}
        assert "manual" in kinds and "scheduled" not in kinds and "backfill" not in kinds


def test_retention_dag_shape(dagbag):
    dag = dagbag.dags["ks_retention_daily"]
    assert dag.max_active_runs == 1
    assert set(dag.params.keys()) >= {"dry_run", "sources", "override_guard", "full_scan"}
    for source in ("activecampaign", "google_contacts", "tawk", "website_activity"):
        for step in ("scan", "guard", "apply", "verify"):
            assert f"{source}.{step}" in dag.task_dict
    assert "tawk.confirm_deleted" in dag.task_dict
    assert "activecampaign.confirm_deleted" not in dag.task_dict
    assert dag.task_dict["report"].trigger_rule == "all_done"


def test_parsing_does_no_io(monkeypatch):
    """Import every DAG file with sockets forbidden and no connections defined."""
    from airflow.dag_processing.dagbag import DagBag

    def refuse(*args, **kwargs):
        raise AssertionError("a DAG file opened a network connection at import time")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    for name in list(os.environ):
        if name.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_")):
            monkeypatch.delenv(name)
    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}


def test_broken_policy_fails_import_with_key_and_line(tmp_path, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    policy = DEFAULT_POLICY.read_text()
    broken = tmp_path / "policy.yaml"
    broken.write_text(policy.replace("term_days: 160", "term_days: -160"))
    monkeypatch.setenv("KS_POLICY_PATH", str(broken))
    from ks_privacy import runtime

    runtime.policy.cache_clear()
    bag = DagBag(dag_folder=str(REPO / "dags" / "ks_retention_daily.py"))
    (error,) = bag.import_errors.values()
    assert "categories.phone.term_days" in error
    assert "line " in error
