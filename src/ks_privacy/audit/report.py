"""The auditor report for a period: one self-contained HTML file (charts embedded as base64
PNG, no external assets), the CSV of the period's evidence it was built from, and a JSON summary
of the same numbers, each signed (`<file>.sig`, Ed25519, ks_privacy.signing), written through
`ObjectStoragePath` (a local folder by default).

The verdicts come from ks_privacy.audit.verdicts; this module renders them with the Jinja2
template `audit/report.html` and writes the files:
- per day and source: records erased, redacted, held (legal hold) and failed;
- retention: the statement's table with a measured column (ks_privacy.audit.retention_view);
- requests and their response times against the four-week limit;
- the chain: intact or its problems, its head and the newest anchor, and this period's first
  and last rows, so consecutive reports link up and the CSV can be re-verified
  (`python -m ks_privacy audit verify --csv ... --expect-head SEQ:HASH --expect-rows N`).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine

from ks_privacy import signing
from ks_privacy.anchors import Anchor
from ks_privacy.audit import charts, checks, store, templating
from ks_privacy.audit.period import ACTIONS
from ks_privacy.audit.verdicts import AuditReport, build
from ks_privacy.evidence import canonical_time
from ks_privacy.policy import RetentionPolicy


@dataclass(frozen=True)
class WrittenReport:
    html: str
    csv: str
    json: str
    csv_sha256: str
    ok: bool
    rows: int


def _stamp(value: datetime) -> str:
    value = value.astimezone(UTC)
    if value.time() == datetime.min.time():
        return value.strftime("%Y-%m-%d")
    return value.strftime("%Y-%m-%dT%H%MZ")


def report_name(start: datetime, end: datetime) -> str:
    return f"ks-audit_{_stamp(start)}_{_stamp(end)}"


def write(
    engine: Engine,
    policy: RetentionPolicy,
    start: datetime,
    end: datetime,
    now: datetime,
    base=None,
    grace: timedelta = checks.VERIFY_GRACE,
    anchors: Sequence[Anchor] = (),
    key: Ed25519PrivateKey | None = None,
) -> WrittenReport:
    """Build the report and write `<name>.html`, `.csv` and `.json` under `base` (an
    ObjectStoragePath or URL; default: `store.report_base()`), each with its `.sig`, plus
    copies named `latest.*`. `key`: the signing key (default: variable ks_audit_private_key)."""
    from airflow.sdk import ObjectStoragePath

    key = key or signing.load_private_key()
    if base is None:
        base = store.report_base()
    elif not isinstance(base, ObjectStoragePath):
        base = ObjectStoragePath(str(base))
    base.mkdir(parents=True, exist_ok=True)
    name = report_name(start, end)
    with tempfile.TemporaryFile("w+b") as spool:
        with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as text:
            report = build(engine, policy, start, end, now, text, grace, anchors)
            text.seek(0)
            while chunk := text.read(1 << 16):
                spool.write(chunk.encode("utf-8"))
        spool.seek(0)
        csv_bytes = spool.read()  # Ed25519 signs a whole message: the CSV is read once
    report.csv_name = f"{name}.csv"
    report.csv_sha256 = hashlib.sha256(csv_bytes).hexdigest()
    html_bytes = render_html(report, f"{name}.html").encode("utf-8")
    json_bytes = json.dumps(report.summary(), indent=2, sort_keys=True).encode("utf-8")
    for filename, data in (
        (f"{name}.csv", csv_bytes),
        (f"{name}.html", html_bytes),
        (f"{name}.json", json_bytes),
        ("latest.csv", csv_bytes),
        ("latest.html", html_bytes),
        ("latest.json", json_bytes),
    ):
        signing.write_signed(base / filename, data, key)
    return WrittenReport(
        str(base / f"{name}.html"),
        str(base / f"{name}.csv"),
        str(base / f"{name}.json"),
        report.csv_sha256,
        report.ok,
        report.period.rows,
    )


# ---- HTML --------------------------------------------------------------------------------------


def _chain_rows(report: AuditReport) -> list[list]:
    chain = report.status.chain.report
    first, last = report.period.first, report.period.last
    return [
        ["head of the whole chain", f"#{chain.head_seq}", {"code": chain.head_hash}],
        [
            "this period's first row: previous hash",
            f"#{first[0]}" if first else "-",
            {"code": first[1]} if first else "-",
        ],
        [
            "this period's last row",
            f"#{last[0]}" if last else "-",
            {"code": last[1]} if last else "-",
        ],
    ]


def _retention_rows(report: AuditReport) -> list[list]:
    return [
        [
            f"{c.label} ({c.category})",
            f"{c.term_days} days" + ("" if c.published else " (not published)"),
            ", ".join(
                h + (" (not in the statement)" if h in c.undeclared else "") for h in c.holders
            )
            or "-",
            c.oldest_text,
            c.overdue if not c.overdue_oldest else f"{c.overdue} (oldest {c.overdue_oldest} d)",
            c.held,
            {"verdict": c.verdict},
        ]
        for c in report.categories
    ]


def _source_rows(report: AuditReport) -> list[list]:
    return [
        [
            s.source,
            canonical_time(s.scanned_at) if s.scanned_at else {"bad": "never"},
            "-" if s.full_scan is None else ("full" if s.full_scan else "incremental"),
            s.run_id or "-",
            ", ".join(f"{n} {why}" for why, n in sorted(s.overdue_reasons.items())) or "0",
            s.held_records,
        ]
        for s in report.sources
    ]


def render_html(report: AuditReport, html_name: str = "report.html") -> str:
    totals = report.totals()
    daily_rows = sorted(
        (
            [day.isoformat(), source, *(counts.get(a, 0) for a in ACTIONS)]
            for source, per_day in report.period.daily.items()
            for day, counts in per_day.items()
        ),
        key=lambda r: (r[0], r[1]),
    )
    chain = report.status.chain
    chain_line = report.status.lines()[0]  # honest: "intact" only when every check passed
    return templating.render(
        "audit/report.html",
        report=report,
        chain=chain,
        chain_line=chain_line,
        chain_rows=_chain_rows(report),
        newest_anchor=chain.newest_anchor,
        html_name=html_name,
        actions=list(ACTIONS),
        totals_rows=[[s, *(t[a] for a in ACTIONS)] for s, t in totals.items()]
        + [["all sources", *(sum(t[a] for t in totals.values()) for a in ACTIONS)]],
        daily_rows=daily_rows,
        retention_rows=_retention_rows(report),
        source_rows=_source_rows(report),
        request_rows=[
            [
                r.request_ref,
                r.kind,
                r.subject_ref,
                r.received_on,
                r.due_on,
                r.closed_on or "-",
                r.days_open,
                r.status,
                {"verdict": r.verdict},
            ]
            for r in report.requests
        ],
        event_rows=[[*key.split(" ", 1), n] for key, n in sorted(report.period.events.items())],
        charts={
            "activity": charts.activity_chart(report.days, report.period.daily),
            "retention": charts.retention_chart(
                [
                    (c.label, c.term_days, c.oldest_days, (c.oldest_days or 0) >= c.term_days)
                    for c in report.categories
                ]
            ),
            "requests": charts.requests_chart(
                [(r.request_ref, r.days_open, r.verdict) for r in report.requests],
                report.deadline_days,
            ),
        },
    )
