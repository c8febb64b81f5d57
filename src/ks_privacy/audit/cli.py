"""`python -m ks_privacy ...`: the auditor's commands and the policy report.

    python -m ks_privacy policy
    python -m ks_privacy audit verify [--anchors URL] [--public-key PEM] [--anchor SEQ:HASH ...]
    python -m ks_privacy audit verify --csv FILE.csv --expect-head SEQ:HASH --expect-rows N
    python -m ks_privacy audit verify-report --public-key PEM FILE [FILE ...] [--tsa-ca PEM]
    python -m ks_privacy audit public-key        (from the signing key; for auditors)
    python -m ks_privacy audit report [--from 2026-11-01 --to 2026-11-30 | --days 31] [--out URL]
    python -m ks_privacy audit lookup            (asks for the e-mail address; never argv)
    python -m ks_privacy hold place --kind litigation --ref CASE-2026-0007 --by "Olga Ops"
    python -m ks_privacy hold lift --by "Olga Ops"   (both ask for the e-mail address)

The audit database is `--db URL` (SQLAlchemy URL) or the Airflow connection `ks_audit_db`
(env AIRFLOW_CONN_KS_AUDIT_DB or a secrets backend); the anchor store is `--anchors URL` or
Airflow variable `ks_audit_anchor_base`. Exit status 1 means a check failed; then nothing says
"intact" and no head is offered to note down. `verify-report` and `verify --csv` need neither
database nor Airflow: the files and the public key are enough.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from ks_privacy.audit import checks, csvcheck, lookup, store


def _engine(args):
    from ks_privacy.audit_db import engine_for_connection, engine_for_url

    if args.db:
        return engine_for_url(args.db)
    return engine_for_connection()


def _policy():
    from ks_privacy.policy import load_policy

    return load_policy()


def cmd_policy(_args) -> int:
    for line in _policy().report_lines():
        print(line)
    return 0


def _public_key(args):
    """--public-key FILE, else the one of the signing key when this machine has it, else None
    (signatures are then reported as not checked)."""
    from ks_privacy import signing

    if getattr(args, "public_key", None):
        return signing.load_public_key(Path(args.public_key).read_bytes())
    try:
        return signing.load_private_key().public_key()
    except signing.SigningKeyError:
        return None


def cmd_verify(args) -> int:
    if args.csv:
        return _verify_csv(args)
    from ks_privacy.audit import chain_checks

    try:
        noted = [chain_checks.parse_anchor(a) for a in args.anchor]
    except ValueError as exc:
        print(f"verify: {exc}", file=sys.stderr)
        return 2
    found = chain_checks.load_anchors(
        store_path(args.anchors) if args.anchors else None, _public_key(args)
    )
    engine = _engine(args)
    status = checks.check_all(
        engine,
        datetime.now(UTC),
        _policy().request_deadline_days,
        timedelta(hours=args.grace_hours),
        [*found, *chain_checks.given_anchors(noted)],
    )
    for line in status.lines():
        print(line)
    report_ = status.chain.report
    if status.ok and report_.head_seq:  # only a head that passed everything is worth noting
        print(f"ANCHOR {report_.head_seq}:{report_.head_hash}")
    return 0 if status.ok else 1


def _verify_csv(args) -> int:
    from ks_privacy.audit import chain_checks

    if not args.expect_head or args.expect_rows is None:
        print(
            "verify --csv: give --expect-head SEQ:HASH and --expect-rows N (the report prints "
            "both): without them a CSV cut at either end cannot be told from a whole one",
            file=sys.stderr,
        )
        return 2
    try:
        head = chain_checks.parse_anchor(args.expect_head)
    except ValueError as exc:
        print(f"verify --csv: {exc}", file=sys.stderr)
        return 2
    with open(args.csv, encoding="utf-8", newline="") as stream:
        result = csvcheck.verify_csv(stream, head, args.expect_rows, args.expect_prev)
    print(result.summary())
    return 0 if result.ok else 1


def store_path(url: str):
    from airflow.sdk import ObjectStoragePath

    if "://" not in url:
        url = Path(url).resolve().as_uri() + "/"
    return ObjectStoragePath(url)


def cmd_public_key(_args) -> int:
    from ks_privacy import signing

    try:
        key = signing.load_private_key()
    except signing.SigningKeyError as exc:
        print(f"public-key: {exc}", file=sys.stderr)
        return 2
    print(signing.public_key_pem(key), end="")
    return 0


def cmd_verify_report(args) -> int:
    """Each file against its `.sig` (and its `.tsr`, with --tsa-ca): files and key alone."""
    from ks_privacy import signing

    try:
        public = signing.load_public_key(Path(args.public_key).read_bytes())
    except (OSError, signing.SigningKeyError) as exc:
        print(f"verify-report: {args.public_key}: {exc}", file=sys.stderr)
        return 2
    authority = None
    if args.tsa_ca:
        from ks_privacy.timestamps import TimestampAuthority

        pem = Path(args.tsa_ca).read_text()
        authority = TimestampAuthority.from_pem("(files)", pem)
    failed = 0
    for name in args.files:
        path = Path(name)
        sig = path.with_name(path.name + signing.SIGNATURE_SUFFIX)
        if not path.is_file() or not sig.is_file():
            print(f"{name}: MISSING ({'file' if not path.is_file() else 'signature ' + sig.name})")
            failed += 1
            continue
        data = path.read_bytes()
        if not signing.verify(public, data, sig.read_bytes()):
            print(f"{name}: BAD SIGNATURE: changed since it was signed, or not signed by this key")
            failed += 1
            continue
        line = f"{name}: signature good"
        token = path.with_name(path.name + ".tsr")
        if authority is not None and token.is_file():
            from ks_privacy.timestamps import TimestampError, token_time

            try:
                authority.check(token.read_bytes(), data)
                line += f"; timestamp good ({token_time(token.read_bytes()).isoformat()})"
            except TimestampError as exc:
                line = f"{name}: signature good, but BAD TIMESTAMP: {exc}"
                failed += 1
        print(line)
    return 1 if failed else 0


def _period(args) -> tuple[datetime, datetime]:
    if args.date_from or args.date_to:
        last = date.fromisoformat(args.date_to) if args.date_to else datetime.now(UTC).date()
        first = date.fromisoformat(args.date_from) if args.date_from else last - timedelta(days=30)
        if first > last:
            raise SystemExit("--from is after --to")
        return store.day_start(first), store.day_start(last + timedelta(days=1))
    end = datetime.now(UTC)
    return end - timedelta(days=args.days), end


def cmd_report(args) -> int:
    from ks_privacy.audit import report  # matplotlib and Airflow's storage: only when needed

    start, end = _period(args)
    out = args.out or store.report_base_url()
    if "://" not in out:
        out = Path(out).resolve().as_uri() + "/"
    now = min(datetime.now(UTC), end) if args.date_to else datetime.now(UTC)
    from ks_privacy import signing
    from ks_privacy.audit import chain_checks

    key = signing.load_private_key()
    found = chain_checks.load_anchors(public=key.public_key())
    written = report.write(
        _engine(args), _policy(), start, end, now, base=out, anchors=found, key=key
    )
    print(f"report: {written.html}")
    print(f"evidence CSV: {written.csv} ({written.rows} rows, sha256 {written.csv_sha256})")
    print(f"summary: {written.json}")
    print("all checks pass" if written.ok else "PROBLEMS found: see the report's first section")
    return 0


def read_email(prompt: str) -> str:
    """From the terminal without echo, or one line from piped stdin: never from argv."""
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().strip()


def read_subject(command: str, prompt: str) -> str | None:
    """The pseudonym of an address read by `read_email`; None (said on stderr) if not one."""
    email = read_email(prompt)
    try:
        return lookup.pseudonym_of(email)
    except lookup.NotAnEmail as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return None
    finally:
        del email


def cmd_lookup(args) -> int:
    engine = _engine(args)
    who = lookup.actor("os:" + getpass.getuser())
    try:
        lookup.check_rate(engine, who)
    except lookup.TooManyLookups as exc:
        print(f"lookup: {exc}; try again later", file=sys.stderr)
        return 2
    subject = read_subject("lookup", "E-mail address to look up (not shown, not stored): ")
    if subject is None:
        return 2
    lookup.record_lookup(engine, subject, who, "cli")
    history = lookup.history(engine, subject)
    for line in history.lines():
        print(line)
    if not history.evidence and not history.requests:
        print("no evidence for this pseudonym (never in a swept system, or a different address)")
    return 0


def cmd_hold(args) -> int:
    """Place or lift a legal hold on a person, in every source, by pseudonym."""
    from ks_privacy.evidence import AuditTrail, RunContext
    from ks_privacy.holds import LegalHolds

    subject = read_subject("hold", "E-mail address of the person (not shown, not stored): ")
    if subject is None:
        return 2
    holds = LegalHolds(AuditTrail(_engine(args), RunContext(task_id=f"hold {args.action}")))
    if args.action == "place":
        try:
            changed = holds.place(subject, args.kind, args.ref, args.by)
        except ValueError as exc:
            print(f"hold: {exc}", file=sys.stderr)
            return 2
        print("hold placed" if changed else "hold was already in force")
    else:
        print("hold lifted" if holds.lift(subject, args.by) else "no hold was in force")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m ks_privacy", description=__doc__.split("\n")[0])
    commands = top.add_subparsers(dest="command", required=True)
    commands.add_parser("policy", help="the retention policy as the sweep applies it").set_defaults(
        func=cmd_policy
    )
    audit = commands.add_parser("audit", help="check, report and look up the audit trail")
    audit_cmds = audit.add_subparsers(dest="audit_command", required=True)

    def with_db(sub):
        sub.add_argument(
            "--db", help="SQLAlchemy URL of the audit database (default: connection ks_audit_db)"
        )
        return sub

    verify = with_db(audit_cmds.add_parser("verify", help="chain, read-backs, request deadlines"))
    verify.add_argument(
        "--anchor",
        action="append",
        default=[],
        metavar="SEQ:HASH",
        help="a row noted down earlier that the chain must still hold (besides the store's)",
    )
    verify.add_argument(
        "--anchors", help="anchor store (folder or URL; default: variable ks_audit_anchor_base)"
    )
    verify.add_argument("--public-key", help="PEM file of the audit key, to check anchors")
    verify.add_argument("--grace-hours", type=int, default=24)
    verify.add_argument("--csv", help="verify a report's evidence CSV instead (no database)")
    verify.add_argument("--expect-head", help="with --csv: the report's last row, SEQ:HASH")
    verify.add_argument("--expect-rows", type=int, help="with --csv: the report's row count")
    verify.add_argument("--expect-prev", help="with --csv: the previous report's last hash")
    verify.set_defaults(func=cmd_verify)

    signed = audit_cmds.add_parser(
        "verify-report", help="check signed files (reports, anchors) with the public key alone"
    )
    signed.add_argument("files", nargs="+", help="files with a .sig next to them")
    signed.add_argument("--public-key", required=True, help="PEM file of the audit public key")
    signed.add_argument("--tsa-ca", help="PEM of the TSA's root: also check .tsr tokens")
    signed.set_defaults(func=cmd_verify_report)

    audit_cmds.add_parser(
        "public-key", help="print the audit public key (PEM) for auditors"
    ).set_defaults(func=cmd_public_key)

    rep = with_db(audit_cmds.add_parser("report", help="write the HTML/CSV/JSON report"))
    rep.add_argument("--from", dest="date_from", help="first day, YYYY-MM-DD (UTC)")
    rep.add_argument("--to", dest="date_to", help="last day, YYYY-MM-DD (UTC, inclusive)")
    rep.add_argument("--days", type=int, default=31, help="without --from/--to: the last N days")
    rep.add_argument("--out", help="folder or storage URL (default: variable ks_audit_report_base)")
    rep.set_defaults(func=cmd_report)

    look = with_db(
        audit_cmds.add_parser("lookup", help="evidence of one person (asks for the e-mail address)")
    )
    look.set_defaults(func=cmd_lookup)

    hold = with_db(commands.add_parser("hold", help="place or lift a legal hold on a person"))
    hold.add_argument("action", choices=["place", "lift"])
    hold.add_argument("--kind", default="litigation", help="litigation, tax, authority, other")
    hold.add_argument("--ref", default="", help="case reference, e.g. CASE-2026-0007 (no names)")
    hold.add_argument("--by", required=True, help="who places or lifts the hold")
    hold.set_defaults(func=cmd_hold)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.func(args) or 0)
