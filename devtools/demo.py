"""The README's first command, in Python where bash would be awkward.

    python -m devtools.demo env CONNECTIONS_JSON AUDIT_DB_URL   # prints `export ...` lines
    python -m devtools.demo ops --dag ks_retention_daily ...    # plays the ops person
    python -m devtools.demo mail --port 1143                    # mails a request to the mailbox

`ops` stands in for the person at the Airflow UI: when the run asks for the manual Tawk step,
it deletes the listed chats in the sandbox's Tawk "dashboard" and confirms, as ops would.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import requests
import sqlalchemy as sa

from devtools.hitl import answer_pending

# who answers the demo's human step (the Tawk confirmation: `play_ops` answers as "Demo Ops",
# user id demo.ops); no notification channel, so messages are logged as "nobody was told"
DEMO_PEOPLE = json.dumps(
    {
        "people": {"demo.ops": {"name": "Demo Ops"}},
        "approvers": ["demo.ops"],
        "tawk_operators": ["demo.ops"],
        "ops": ["demo.ops"],
        "privacy_officer": ["demo.ops"],
    }
)


def env_lines(connections_file: Path, audit_db: str, key_file: Path) -> list[str]:
    """Airflow connections and variables for the demo, as shell exports."""
    connections = json.loads(connections_file.read_text())["airflow_connections"]
    lines = []
    for conn_id, spec in connections.items():
        value = spec["uri"] if "uri" in spec else json.dumps(spec)
        lines.append(f"export AIRFLOW_CONN_{conn_id.upper()}={shlex.quote(value)}")
    lines.append(f"export AIRFLOW_CONN_KS_AUDIT_DB={shlex.quote(audit_db)}")
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    lines.append(f"export AIRFLOW_VAR_KS_PSEUDONYM_KEY={shlex.quote(key_file.read_text())}")
    # the demo's own audit signing key and anchor store (production: a secrets backend, a bucket)
    signing_key = key_file.with_name("audit-signing.pem")
    if not signing_key.exists():
        from ks_privacy.signing import generate_private_key_pem

        signing_key.write_text(generate_private_key_pem())
        signing_key.chmod(0o600)
    lines.append(f"export AIRFLOW_VAR_KS_AUDIT_PRIVATE_KEY={shlex.quote(signing_key.read_text())}")
    anchors = (key_file.parent / "anchors").resolve().as_uri() + "/"
    lines.append(f"export AIRFLOW_VAR_KS_AUDIT_ANCHOR_BASE={shlex.quote(anchors)}")
    lines.append(f"export AIRFLOW_VAR_KS_PEOPLE={shlex.quote(DEMO_PEOPLE)}")
    return lines


def delete_worklist(tawk_control: str, audit_db: str) -> None:
    engine = sa.create_engine(audit_db)
    with engine.connect() as conn:
        refs = [
            r[0]
            for r in conn.execute(
                sa.text("SELECT record_ref FROM ks_plan WHERE source='tawk' AND state='manual'")
            )
        ]
    engine.dispose()
    requests.post(
        f"{tawk_control}/tawk/dashboard_delete", json={"chat_ids": refs}, timeout=10
    ).raise_for_status()
    print(f"demo ops: deleted {len(refs)} chats in the Tawk dashboard (sandbox), confirming")


def play_ops(dag_id: str, tawk_control: str, audit_db: str, seconds: float) -> None:
    answers = {
        "tawk.confirm_deleted": (
            "All listed chats are deleted",
            lambda: delete_worklist(tawk_control, audit_db),
        )
    }
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if answer_pending(dag_id, answers, "Demo Ops"):
            return
        time.sleep(0.5)


MAILBOX_LOGIN, MAILBOX_PASSWORD = "team", "demo-mailbox"


def mail_request(port: int) -> list[str]:
    """Drop one request (Dutch, an ID copy attached) into the local IMAP server (pymap) over
    IMAP APPEND, as it would arrive; returns the `export` line of the mailbox connection."""
    import imaplib
    import socket
    from email.message import EmailMessage
    from email.utils import format_datetime, make_msgid

    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    msg = EmailMessage()
    msg["From"] = "Demi de Demo <demi.demo@voorbeeld.nl>"
    msg["To"] = "team@klantengeneratieexperts.nl"
    msg["Subject"] = "Inzageverzoek"
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain="voorbeeld.nl")
    msg.set_content("Beste team,\n\nGraag wil ik inzage in mijn persoonsgegevens.\n\nDemi\n")
    msg.add_attachment(b"%PDF-1.4 demo ID copy", maintype="application", subtype="pdf")
    client = imaplib.IMAP4("127.0.0.1", port)
    client.login(MAILBOX_LOGIN, MAILBOX_PASSWORD)
    client.append("INBOX", None, imaplib.Time2Internaldate(time.time()), msg.as_bytes())
    client.logout()
    conn = {
        "conn_type": "imap",
        "host": "127.0.0.1",
        "port": port,
        "login": MAILBOX_LOGIN,
        "password": MAILBOX_PASSWORD,
        "extra": {"use_ssl": False},
    }
    return [f"export AIRFLOW_CONN_KS_PRIVACY_MAILBOX={shlex.quote(json.dumps(conn))}"]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.demo")
    sub = parser.add_subparsers(dest="command", required=True)
    env = sub.add_parser("env")
    env.add_argument("connections")
    env.add_argument("audit_db")
    env.add_argument("--key-file", default="var/demo/pseudonym.key")
    ops = sub.add_parser("ops")
    ops.add_argument("--dag", required=True)
    ops.add_argument("--tawk-control", required=True)
    ops.add_argument("--audit-db", required=True)
    ops.add_argument("--seconds", type=float, default=300)
    mail = sub.add_parser("mail")
    mail.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    if args.command == "mail":
        print("\n".join(mail_request(args.port)))
    elif args.command == "env":
        print("\n".join(env_lines(Path(args.connections), args.audit_db, Path(args.key_file))))
    else:
        play_ops(args.dag, args.tawk_control, args.audit_db, args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
