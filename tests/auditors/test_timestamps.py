"""Trusted time for anchors (RFC 3161), against a real TSA run here: OpenSSL's `ts -reply` behind
a small HTTP wrapper (tests/auditors/tsa.py). Off by default; on with connection `ks_audit_tsa`."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime

import pytest

from ks_privacy import anchors, timestamps
from ks_privacy.audit import cli
from tests.auditors import tsa as local_tsa
from tests.auditors.conftest import airflow_url, seed_evidence
from tests.fixtures.dagrun import task_states


@pytest.fixture
def tsa(tmp_path):
    authority, server = local_tsa.start(tmp_path / "tsa")
    yield authority
    server.shutdown()


def _tokens(folder) -> list:
    return sorted(folder.glob("anchor-*.json.tsr"))


def test_off_by_default(audit_engine, evidence_keys):
    seed_evidence(audit_engine)
    assert timestamps.configured_authority() is None
    published = anchors.publish(audit_engine, "test")
    assert not published.timestamped and _tokens(evidence_keys) == []


def test_the_verify_dag_timestamps_its_anchor_through_the_connection(
    tsa, audit_url, audit_engine, run_dag, monkeypatch, tmp_path, evidence_keys, capsys
):
    seed_evidence(audit_engine)
    monkeypatch.setenv("AIRFLOW_CONN_KS_AUDIT_DB", airflow_url(audit_url))
    monkeypatch.setenv("AIRFLOW_VAR_KS_AUDIT_REPORT_BASE", (tmp_path / "r").as_uri() + "/")
    monkeypatch.setenv(
        "AIRFLOW_CONN_KS_AUDIT_TSA",
        json.dumps({"conn_type": "http", "host": tsa.url, "extra": {"ca_certificate": tsa.ca_pem}}),
    )
    run = run_dag("ks_audit_verify", datetime.now(UTC))
    assert str(run.state) == "success", task_states(run)
    assert tsa.requests == 1
    (token,) = _tokens(evidence_keys)
    anchor = token.with_suffix("")  # anchor-….json

    # the TSA's word, checked with its certificate: by us, and by OpenSSL alone (the docs' line)
    authority = timestamps.TimestampAuthority.from_pem(tsa.url, tsa.ca_pem)
    authority.check(token.read_bytes(), anchor.read_bytes())
    when = timestamps.token_time(token.read_bytes())
    assert abs((when - datetime.now(UTC)).total_seconds()) < 120
    ca = tsa.folder / "ca.pem"
    openssl = subprocess.run(
        ["openssl", "ts", "-verify", "-data", str(anchor), "-in", str(token), "-CAfile", str(ca)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert openssl.returncode == 0 and "Verification: OK" in openssl.stdout, openssl.stderr

    # the next verify run checks the token as it reads the anchor
    found = anchors.read_anchors(anchors.store(), None, authority)
    assert [a.timestamped for a in found] == [True]

    # the auditor's command, with the key and the TSA's root
    public = tmp_path / "public.pem"
    assert cli.main(["audit", "public-key"]) == 0
    public.write_text(capsys.readouterr().out)
    argv = ["audit", "verify-report", "--public-key", str(public), "--tsa-ca", str(ca)]
    assert cli.main([*argv, str(anchor)]) == 0
    assert "signature good; timestamp good" in capsys.readouterr().out


def test_a_token_for_other_data_or_from_another_tsa_is_refused(tsa, tmp_path):
    authority = timestamps.TimestampAuthority.from_pem(tsa.url, tsa.ca_pem)
    token = authority.stamp(b'{"seq": 1}')
    with pytest.raises(timestamps.TimestampError, match="does not verify"):
        authority.check(token, b'{"seq": 2}')
    other, server = local_tsa.start(tmp_path / "other")
    try:
        stranger = timestamps.TimestampAuthority.from_pem(tsa.url, other.ca_pem)
        with pytest.raises(timestamps.TimestampError, match="does not verify"):
            stranger.check(token, b'{"seq": 1}')
    finally:
        server.shutdown()


def test_a_tsa_that_is_down_costs_the_token_not_the_anchor(audit_engine, evidence_keys):
    seed_evidence(audit_engine)
    down = timestamps.TimestampAuthority.from_pem(
        "http://127.0.0.1:9/tsr", local_tsa_ca(evidence_keys.parent)
    )
    published = anchors.publish(audit_engine, "test", tsa=down)
    assert published is not None and not published.timestamped
    assert "cannot be reached" in published.note
    assert len(list(evidence_keys.glob("anchor-*.json"))) == 1 and _tokens(evidence_keys) == []


def local_tsa_ca(folder) -> str:
    local_tsa.make_certificates(folder)
    return (folder / "ca.pem").read_text()
