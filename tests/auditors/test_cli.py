"""`python -m ks_privacy`: the policy report and the auditor's commands. The lookup reads the
address from stdin (a prompt on a terminal), never from argv, and never prints it."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest

from ks_privacy.audit import cli
from tests.auditors.conftest import PEOPLE, TAMPERING, pseudonym, seed_evidence, tamper
from tests.conftest import REPO
from tests.fixtures.sandbox import PSEUDONYM_KEY


def _python_m(*args: str, stdin: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "ks_privacy", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        cwd=REPO,
        timeout=120,
        check=False,
    )


def test_policy_report(capsys):
    assert cli.main(["policy"]) == 0
    out = capsys.readouterr().out
    assert "phone               160 d  yes" in out
    assert "gap: gender has no published term" in out


def test_lookup_from_the_command_line(audit_url, audit_engine):
    seed_evidence(audit_engine)
    url = audit_url.render_as_string(hide_password=False)
    email = PEOPLE["anna"]
    result = _python_m(
        "audit",
        "lookup",
        "--db",
        url,
        stdin=email.upper() + "\n",  # any spelling of the address finds the same person
        env={"AIRFLOW_VAR_KS_PSEUDONYM_KEY": PSEUDONYM_KEY},
    )
    assert result.returncode == 0, result.stderr
    assert f"pseudonym {pseudonym(email)}: " in result.stdout
    assert "activecampaign: 1x erase.outcome erased, 1x verify verified" in result.stdout
    assert (
        "tawk: 1x manual.confirmed erased, 1x manual.requested requested, 1x verify verified"
        in (result.stdout)
    )
    assert "request REQ-2026-001 (erasure)" in result.stdout
    for text in (result.stdout, result.stderr):
        assert email.lower() not in text.lower()


def test_lookup_refuses_what_is_not_an_address(audit_url, monkeypatch, capsys):
    monkeypatch.setenv("AIRFLOW_VAR_KS_PSEUDONYM_KEY", PSEUDONYM_KEY)
    monkeypatch.setattr(sys, "stdin", io.StringIO("not an address\n"))
    assert cli.main(["audit", "lookup", "--db", str(audit_url)]) == 2
    captured = capsys.readouterr()
    assert "does not look like an e-mail address" in captured.err
    assert "not an address" not in captured.err + captured.out


def test_verify_and_report_commands(audit_url, audit_engine, tmp_path, capsys):
    rows = seed_evidence(audit_engine).rows
    url = audit_url.render_as_string(hide_password=False)
    assert cli.main(["audit", "verify", "--db", url]) == 0
    out = capsys.readouterr().out
    assert f"audit chain intact: {rows} rows, head #{rows}" in out
    anchor = next(line for line in out.splitlines() if line.startswith("ANCHOR ")).split()[1]
    assert cli.main(["audit", "verify", "--db", url, "--anchor", anchor]) == 0

    out_dir = tmp_path / "out"
    assert cli.main(["audit", "report", "--db", url, "--days", "3", "--out", str(out_dir)]) == 0
    printed = capsys.readouterr().out
    assert "evidence CSV: file://" in printed and f"({rows} rows" in printed
    (csv_file,) = [p for p in out_dir.glob("ks-audit_*.csv")]
    assert {p.name for p in out_dir.glob("latest.*")} == {
        f"latest.{kind}{sig}" for kind in ("html", "csv", "json") for sig in ("", ".sig")
    }
    expect = ["--expect-head", anchor, "--expect-rows", str(rows)]
    assert cli.main(["audit", "verify", "--csv", str(csv_file), *expect]) == 0
    assert f"evidence CSV intact: {rows} rows, #1..#{rows}" in capsys.readouterr().out

    statements, bad_seq, _ = TAMPERING["edit"]
    tamper(audit_engine, *statements)
    assert cli.main(["audit", "verify", "--db", url]) == 1
    out = capsys.readouterr().out
    assert f"PROBLEM (chain): audit chain BROKEN at row #{bad_seq}" in out
    assert "intact" not in out.replace("NOT intact", "") and "\nANCHOR" not in out
    # the CSV written before the tampering still verifies: it is the auditor's own copy
    assert cli.main(["audit", "verify", "--csv", str(csv_file), *expect]) == 0


def test_cut_off_rows_fail_verify_honestly(audit_url, audit_engine, capsys):
    """Deleting the newest rows leaves a chain that walks fine: the published anchor shows it,
    and then nothing says "intact" and no head is offered to note down."""
    from ks_privacy import anchors

    rows = seed_evidence(audit_engine).rows
    url = audit_url.render_as_string(hide_password=False)
    published = anchors.publish(audit_engine, "test")
    assert cli.main(["audit", "verify", "--db", url]) == 0
    assert "1 anchor(s) match" in capsys.readouterr().out

    tamper(audit_engine, f"DELETE FROM ks_evidence WHERE seq > {rows - 2}")
    assert cli.main(["audit", "verify", "--db", url]) == 1
    out = capsys.readouterr().out
    assert f"PROBLEM (chain): anchor {published.name} (row #{rows}, published " in out
    assert f"the chain no longer has row #{rows}; it ends at #{rows - 2}" in out
    assert "intact" not in out.replace("NOT intact", "")
    assert not [line for line in out.splitlines() if line.startswith("ANCHOR")]


def test_a_csv_cut_at_either_end_fails(audit_url, audit_engine, tmp_path, capsys):
    rows = seed_evidence(audit_engine).rows
    url = audit_url.render_as_string(hide_password=False)
    assert cli.main(["audit", "report", "--db", url, "--days", "3", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    (csv_file,) = tmp_path.glob("ks-audit_*.csv")
    summary = json.loads(csv_file.with_suffix(".json").read_text())["period_rows"]
    head = "{}:{}".format(*summary["last"])
    expect = ["--expect-head", head, "--expect-rows", str(summary["count"])]
    lines = csv_file.read_text().splitlines(keepends=True)
    for name, kept in (("end", lines[:-2]), ("start", lines[:1] + lines[3:])):
        cut = tmp_path / f"cut-{name}.csv"
        cut.write_text("".join(kept))
        assert cli.main(["audit", "verify", "--csv", str(cut), *expect]) == 1, name
        out = capsys.readouterr().out
        assert f"rows were cut off the {name}" in out and "intact" not in out
    # without the expected head and count a cut file cannot be told apart: refused
    assert cli.main(["audit", "verify", "--csv", str(csv_file)]) == 2
    assert "--expect-head" in capsys.readouterr().err
    assert summary["count"] == rows


@pytest.mark.parametrize("argv", [["audit", "lookup", "someone@example.nl"]])
def test_the_address_is_not_accepted_on_the_command_line(argv, capsys):
    with pytest.raises(SystemExit):
        cli.main(argv)
    assert "unrecognized arguments" in capsys.readouterr().err


def test_airflow_loads_only_the_ui_plugin_from_the_plugins_folder():
    """Airflow imports every .py file under its plugins folder by file stem. The package left
    plugins/ (a `__main__.py` there ran as module "__main__", i.e. the CLI inside Airflow), so
    the loader must meet the UI plugin alone: no import errors, no command run."""
    code = (
        "import json, sys\n"
        "from airflow import plugins_manager\n"
        "plugins_manager.ensure_plugins_loaded()\n"
        "print(json.dumps({\n"
        "    'plugins': sorted(p['name'] for p in plugins_manager.get_plugin_info()),\n"
        "    'errors': plugins_manager.get_import_errors(),\n"
        "    'cli_imported': 'ks_privacy.audit.cli' in sys.modules,\n"
        "}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins")},
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded == {"plugins": ["ks_audit"], "errors": {}, "cli_imported": False}
