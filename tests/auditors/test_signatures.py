"""Signed reports and anchors, checked the way an outsider would: with the public key the CLI
prints and the files alone, through `audit verify-report` and through the OpenSSL recipe in
docs/auditors.md (run for real, as written)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from ks_privacy import anchors, signing
from ks_privacy.audit import report
from ks_privacy.policy import load_policy
from tests.auditors.conftest import seed_evidence
from tests.conftest import REPO

RECIPE = re.compile(r"<!-- recipe:start -->\s*```bash\n(.*?)```\s*<!-- recipe:end -->", re.S)


def _python_m(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ks_privacy", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=cwd or REPO,
        timeout=120,
        check=False,
    )


@pytest.fixture
def signed_files(audit_engine, tmp_path, evidence_keys):
    """A report (html, csv, json + .sig) and an anchor (+ .sig), as an auditor receives them,
    and the public key as `audit public-key` prints it, in one folder."""
    seed_evidence(audit_engine)
    end = datetime.now(UTC) + timedelta(minutes=1)
    reports = tmp_path / "reports"
    written = report.write(
        audit_engine, load_policy(), end - timedelta(days=31), end, end, base=reports.as_uri()
    )
    published = anchors.publish(audit_engine, "test")
    folder = tmp_path / "auditor"
    folder.mkdir()
    name = written.html.rsplit("/", 1)[1].removesuffix(".html")
    for suffix in (".html", ".csv", ".json"):
        for sig in ("", ".sig"):
            shutil.copy(reports / f"{name}{suffix}{sig}", folder)
    for sig in ("", ".sig"):
        shutil.copy(evidence_keys / f"{published.name}{sig}", folder)
    printed = _python_m("audit", "public-key")
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    (folder / "ks-audit-public.pem").write_text(printed.stdout)
    return folder, name, published.name


def _flip_one_byte(path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_verify_report_with_the_public_key_and_the_files_alone(signed_files):
    folder, name, anchor = signed_files
    files = [f"{name}.html", f"{name}.csv", f"{name}.json", anchor]
    # no database, no Airflow, no signing key: a clean environment with the files
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), "HOME": str(folder)}
    command = [sys.executable, "-m", "ks_privacy", "audit", "verify-report"]
    command += ["--public-key", "ks-audit-public.pem", *files]

    def verify_report() -> subprocess.CompletedProcess:
        return subprocess.run(
            command, capture_output=True, text=True, env=env, cwd=folder, timeout=120, check=False
        )

    run = verify_report()
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("signature good") == 4

    _flip_one_byte(folder / f"{name}.html")
    run = verify_report()
    assert run.returncode == 1
    assert f"{name}.html: BAD SIGNATURE" in run.stdout
    assert run.stdout.count("signature good") == 3


def test_the_docs_recipe_verifies_without_our_code(signed_files):
    """The recipe in docs/auditors.md, run as written (only its two names set to these files):
    OpenSSL 3 and coreutils, nothing of ours."""
    folder, name, anchor = signed_files
    script = RECIPE.search((REPO / "docs" / "auditors.md").read_text()).group(1)
    script = re.sub(r"^report=\S+", f"report={name}", script, flags=re.M)
    script = re.sub(r"^anchor=\S+", f"anchor={anchor}", script, flags=re.M)

    def run() -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", "-c", "set -euo pipefail\n" + script],
            capture_output=True,
            text=True,
            cwd=folder,
            env={"PATH": os.environ["PATH"]},
            timeout=60,
            check=False,
        )

    good = run()
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.count("Signature Verified Successfully") == 4
    csv_hash = hashlib.sha256((folder / f"{name}.csv").read_bytes()).hexdigest()
    assert csv_hash in good.stdout and csv_hash in (folder / f"{name}.html").read_text()
    anchored = re.search(r'"seq": (\d+)', good.stdout).group(1)
    assert int(anchored) == int(anchor.split("-")[1])

    for victim in (f"{name}.json", anchor):
        _flip_one_byte(folder / victim)
        bad = run()
        assert bad.returncode != 0
        assert "Signature Verification Failure" in bad.stdout + bad.stderr


def test_a_signature_from_another_key_is_refused(signed_files):
    folder, name, _ = signed_files
    other = signing.private_key_from_text(signing.generate_private_key_pem())
    (folder / "other.pem").write_text(signing.public_key_pem(other))
    run = _python_m(
        "audit", "verify-report", "--public-key", "other.pem", f"{name}.csv", cwd=folder
    )
    assert run.returncode == 1 and "BAD SIGNATURE" in run.stdout


def test_bad_keys_are_named_not_echoed(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_KS_AUDIT_PRIVATE_KEY", "not-a-key-but-a-secret")
    with pytest.raises(signing.SigningKeyError, match="ks_audit_private_key") as info:
        signing.load_private_key()
    assert "not-a-key-but-a-secret" not in str(info.value)
    monkeypatch.delenv("AIRFLOW_VAR_KS_AUDIT_PRIVATE_KEY")
    run = _python_m("audit", "public-key")
    assert run.returncode == 2 and "ks_audit_private_key" in run.stderr
