"""`python -m ks_privacy request ...`: register a data-subject request from a shell.

    python -m ks_privacy request register --kind erasure --ref REQ-2026-0042 \\
        --received 2026-11-20 --identity-verified --verified-by "Olga Ops" [--reason minor]
    python -m ks_privacy request register --kind rectification ... --change phone --change last_name
    python -m ks_privacy request status REQ-2026-0042

The person's address (and a rectification's new values) is asked at a prompt without echo, or
read from piped stdin one value a line, never taken from argv (which shells keep in history and
`ps` shows to everyone). It goes to the vault in the audit database; the command then prints
how to start the request's run, with the reference only.
"""

from __future__ import annotations

import argparse
import sys

from ks_privacy.request_params import CHANGE_PARAMS, REASONS, InvalidRequest

KIND_CHOICES = ("erasure", "access", "rectification", "consent")


def _engine(args):
    from ks_privacy.audit_db import engine_for_connection, engine_for_url, ensure_schema

    engine = engine_for_url(args.db) if args.db else engine_for_connection()
    ensure_schema(engine)
    return engine


def cmd_register(args) -> int:
    from ks_privacy.audit.cli import read_email
    from ks_privacy.evidence import AuditTrail, RunContext
    from ks_privacy.policy import load_policy
    from ks_privacy.pseudonym import pseudonymiser_from_airflow
    from ks_privacy.registration import how_to_trigger, register_request

    if args.change and args.kind != "rectification":
        print("request: --change is for rectification requests only", file=sys.stderr)
        return 2
    fields: dict[str, object] = {
        "request_ref": args.ref,
        "received_on": args.received,
        "identity_verified": args.identity_verified,
        "identity_verified_by": args.verified_by,
        "reason": args.reason,
    }
    fields["subject_email"] = read_email("E-mail address of the person (not shown): ")
    for change in args.change:
        fields[f"new_{change}"] = read_email(f"New {change.replace('_', ' ')} (not shown): ")
    trail = AuditTrail(_engine(args), RunContext(task_id="request register"))
    try:
        done = register_request(
            trail, pseudonymiser_from_airflow(), load_policy(), args.kind, fields
        )
    except InvalidRequest as refusal:
        print(f"request: {refusal} (recorded as request.refused)", file=sys.stderr)
        return 2
    finally:
        fields.clear()  # drop the values as soon as possible
    row = done.row
    state = "registered" if done.new else "was already registered (nothing changed)"
    print(f"request {row.request_ref} ({row.kind}) {state}: status {row.status}, due {row.due_on}")
    print("start its run with the reference only:")
    for line in how_to_trigger(row.kind, row.request_ref):
        print(f"  {line}")
    return 0


def cmd_status(args) -> int:
    from ks_privacy.evidence import AuditTrail
    from ks_privacy.register import Register

    register = Register(AuditTrail(_engine(args)))
    row = register.get(args.ref)
    if row is None:
        print(f"request {args.ref} is not registered", file=sys.stderr)
        return 1
    held = "held in the vault" if register.holds_address(args.ref) else "destroyed"
    print(
        f"request {row.request_ref} ({row.kind}): status {row.status}, received "
        f"{row.received_on}, due {row.due_on}, closed {row.closed_at or '-'}; address {held}"
    )
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m ks_privacy request", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)
    reg = commands.add_parser("register", help="register a request (asks for the address)")
    reg.add_argument("--kind", required=True, choices=KIND_CHOICES)
    reg.add_argument("--ref", required=True, help="e.g. REQ-2026-0042 (no names)")
    reg.add_argument("--received", required=True, help="YYYY-MM-DD, the company's calendar day")
    reg.add_argument(
        "--identity-verified",
        action="store_true",
        help="the ID copy was checked (photo, MRZ, document number and BSN blacked out)",
    )
    reg.add_argument("--verified-by", required=True, help="who checked the ID copy")
    reg.add_argument("--reason", default="request", choices=REASONS, help="erasure only")
    reg.add_argument(
        "--change",
        action="append",
        default=[],
        choices=[c for c in CHANGE_PARAMS.values()],
        help="rectification: a field to correct (its new value is asked, not given here)",
    )
    reg.set_defaults(func=cmd_register)
    status = commands.add_parser(
        "status", help="a request's status, and whether its address is held"
    )
    status.add_argument("ref")
    status.set_defaults(func=cmd_status)
    for sub in (reg, status):
        sub.add_argument(
            "--db", help="SQLAlchemy URL of the audit database (default: connection ks_audit_db)"
        )
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.func(args) or 0)
