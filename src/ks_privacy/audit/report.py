"""The auditor report for a period: one self-contained HTML file (charts embedded as base64
PNG, no external assets), the CSV of the period's evidence it was built from, and a JSON summary
of the same numbers, written through `ObjectStoragePath` (a local folder by default).

Everything is computed from the audit database, never from what a task believed:
- per day and source: records erased, redacted, held (legal hold) and failed;
- retention: the statement's table with a measured column: the oldest value still held per
  category after the last sweep of each source (`oldest.<category>` in `scan.completed`), and
  the due values that were not removed (failed, still present, waiting for a person, dry run);
- requests and their response times against the four-week limit;
- the chain: intact or the first bad row, its head, and this period's first and last rows, so
  consecutive reports link up and the CSV can be re-verified (`python -m ks_privacy audit
  verify --csv`).
"""

from __future__ import annotations

import csv
import hashlib
import html
import json
import tempfile
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ks_privacy.audit import charts, checks, store
from ks_privacy.evidence import _canonical_time
from ks_privacy.policy import RetentionPolicy

ACTIONS = ("erased", "redacted", "held", "failed")
STALE_SCAN = timedelta(days=2)  # a source not swept for this long cannot be keeping its terms
NULLABLE = (
    "dag_id",
    "run_id",
    "task_id",
    "try_number",
    "source",
    "record_ref",
    "subject_ref",
    "rule",
    "age_days",
)


def classify(event: str, outcome: str) -> str | None:
    """Which report column an evidence row counts in (None: not a per-record action)."""
    if outcome in ("failed", "still_present"):
        return "failed"
    if event in ("erase.outcome", "manual.confirmed") and outcome == "erased":
        return "erased"
    if event == "redact.outcome" and outcome == "redacted":
        return "redacted"
    if event == "hold":
        return "held"
    return None


# ---- the period's evidence -----------------------------------------------------------------------


@dataclass
class PeriodEvidence:
    rows: int = 0
    daily: dict[str, dict[date, Counter]] = field(default_factory=dict)  # source -> day -> n
    totals: dict[str, Counter] = field(default_factory=dict)  # source -> action -> n
    events: Counter = field(default_factory=Counter)  # "event outcome" -> n
    first: tuple[int, str] | None = None  # (seq, prev_hash) of the period's first row
    last: tuple[int, str] | None = None  # (seq, row_hash) of its last row


def seq_range(engine: Engine, start: datetime, end: datetime) -> tuple[int, int] | None:
    """The rows recorded in [start, end), as a contiguous seq range (a CSV of a period must be
    a whole piece of the chain, even if a clock step put one row's time out of order)."""
    with engine.connect() as conn:
        low, high = conn.execute(
            sa.text(
                "SELECT MIN(seq), MAX(seq) FROM ks_evidence WHERE recorded_at >= :s "
                "AND recorded_at < :e"
            ),
            {"s": start, "e": end},
        ).one()
    return (int(low), int(high)) if low is not None else None


def csv_value(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column == "recorded_at":
        return _canonical_time(value)
    return str(value)


def collect_period(
    engine: Engine, start: datetime, end: datetime, csv_out: IO[str]
) -> PeriodEvidence:
    """One pass over the period: write the CSV and count what the report shows."""
    result = PeriodEvidence()
    writer = csv.writer(csv_out)
    writer.writerow(store.ALL_COLUMNS)
    bounds = seq_range(engine, start, end)
    if bounds is None:
        return result
    query = sa.text(
        f"SELECT {', '.join(store.ALL_COLUMNS)} FROM ks_evidence WHERE seq BETWEEN :lo AND :hi "
        "ORDER BY seq"
    )
    with engine.connect() as conn:
        rows = conn.execution_options(stream_results=True, yield_per=2000).execute(
            query, {"lo": bounds[0], "hi": bounds[1]}
        )
        for mapping in rows.mappings():
            row = store._normalise(mapping)
            writer.writerow([csv_value(c, row[c]) for c in store.ALL_COLUMNS])
            result.rows += 1
            if result.first is None:
                result.first = (row["seq"], row["prev_hash"])
            result.last = (row["seq"], row["row_hash"])
            result.events[f"{row['event']} {row['outcome']}"] += 1
            action = classify(row["event"], row["outcome"])
            if action is None:
                continue
            source = row["source"] or "(none)"
            day = row["recorded_at"].date()
            result.daily.setdefault(source, {}).setdefault(day, Counter())[action] += 1
            result.totals.setdefault(source, Counter())[action] += 1
    return result


# ---- retention: the statement's table with a measured column ------------------------------------


@dataclass
class SourceRetention:
    source: str
    categories: tuple[str, ...]  # what the statement says this processor holds
    scanned_at: datetime | None = None
    run_id: str | None = None
    full_scan: bool | None = None
    present: dict[str, int] = field(default_factory=dict)
    oldest: dict[str, int] = field(default_factory=dict)  # oldest value kept, days at scan time
    measured: bool = False  # the sweep recorded `oldest.<category>`
    bound_days: int | None = None  # incremental scans only see records older than this
    overdue: dict[str, list[int]] = field(default_factory=dict)  # cat -> ages of due, not removed
    overdue_reasons: Counter = field(default_factory=Counter)
    held: dict[str, list[int]] = field(default_factory=dict)  # cat -> ages under legal hold
    held_records: int = 0
    undeclared: tuple[str, ...] = ()  # found in the source, not listed for it in the statement
    stale: bool = False


@dataclass
class CategoryRetention:
    category: str
    label: str
    term_days: int
    published: bool
    holders: tuple[str, ...]
    oldest_days: int | None
    oldest_text: str
    overdue: int
    overdue_oldest: int | None
    held: int
    verdict: str  # kept | BREACH | not measured | not swept | not held
    undeclared: tuple[str, ...] = ()  # sources holding it that the statement does not name

    @property
    def breach(self) -> bool:
        return self.verdict in ("BREACH", "not swept")


_REMOVED = {"erased", "redacted", "already_absent", "verified"}
_NOT_REMOVED = {
    "failed": "failed",
    "not_done": "failed",
    "still_present": "still present",
    "requested": "waiting for a person",
    "dry_run": "dry run",
}


def _run_state(rows: list[dict]) -> tuple[dict[str, list[int]], Counter, dict[str, list[int]]]:
    """From one sweep run's evidence for one source: which due values were not removed (by
    category, with their ages), why, and what legal hold kept."""
    last: dict[str, dict] = {}
    held: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        if row["event"] == "hold":
            for category in filter(None, row["categories"].split(",")):
                held[category].append(row["age_days"] or 0)
            continue
        if row["event"].endswith((".outcome", ".dry_run")) or row["event"] in (
            "verify",
            "manual.requested",
            "manual.confirmed",
        ):
            last[row["record_ref"]] = row
    overdue: dict[str, list[int]] = defaultdict(list)
    reasons: Counter = Counter()
    for row in last.values():
        if row["outcome"] in _REMOVED:
            continue
        reasons[_NOT_REMOVED.get(row["outcome"], row["outcome"])] += 1
        for category in filter(None, row["categories"].split(",")):
            overdue[category].append(row["age_days"] or 0)
    return dict(overdue), reasons, dict(held)


def retention(
    engine: Engine, policy: RetentionPolicy, end: datetime
) -> tuple[list[SourceRetention], list[CategoryRetention]]:
    scans = store.latest_scans(engine, end)
    sources = []
    for name in policy.enabled_sources():
        config = policy.sources[name]
        held_categories = tuple(policy.processors[config.processor].categories)
        item = SourceRetention(name, held_categories)
        shortest = min(policy.categories[c].term_days for c in held_categories)
        item.bound_days = shortest - policy.lead_time_days
        scan = scans.get(name)
        if scan is None:
            item.stale = True
            sources.append(item)
            continue
        details = scan["details"]
        item.scanned_at = scan["recorded_at"]
        item.run_id = scan["run_id"]
        item.full_scan = bool(details.get("full_scan"))
        item.stale = end - scan["recorded_at"] > STALE_SCAN
        for key, value in details.items():
            kind, _, category = key.partition(".")
            if kind == "present" and category:
                item.present[category] = int(value)
            elif kind == "oldest" and category:
                item.oldest[category] = int(value)
                item.measured = True
        run_rows = store.run_evidence(engine, scan["dag_id"], scan["run_id"], name)
        item.overdue, item.overdue_reasons, item.held = _run_state(run_rows)
        item.held_records = len({r["record_ref"] for r in run_rows if r["event"] == "hold"})
        seen = {c for c, n in item.present.items() if n} | set(item.held) | set(item.overdue)
        item.undeclared = tuple(sorted(seen - set(held_categories)))
        sources.append(item)

    categories = []
    for name, term in policy.categories.items():
        holders = tuple(s.source for s in sources if name in s.categories or name in s.undeclared)
        undeclared = tuple(s.source for s in sources if name in s.undeclared)
        oldest_values: list[int] = []
        bounds: list[int] = []
        measured_all = bool(holders)
        stale = []
        for item in sources:
            if item.source not in holders:
                continue
            if item.stale:
                stale.append(item.source)
            if not item.measured:
                measured_all = False
                continue
            if name in item.oldest:
                oldest_values.append(item.oldest[name])
            elif not item.full_scan:  # records the incremental scan skipped are younger
                bounds.append(item.bound_days or 0)
        overdue_ages = [a for s in sources for a in s.overdue.get(name, [])]
        held = sum(len(s.held.get(name, [])) for s in sources)
        oldest = max(oldest_values) if oldest_values else None
        if not holders:
            text = "not held by any swept source"
        elif oldest is not None and bounds and max(bounds) > oldest:
            text = f"{oldest} d (records the incremental scan skipped: under {max(bounds)} d)"
        elif oldest is not None:
            text = f"{oldest} d"
        elif measured_all and bounds:
            text = f"under {max(bounds)} d (older records are all seen by the scan)"
        elif measured_all:
            text = "none held"
        else:
            text = "not measured (the sweep did not record oldest ages)"
        if stale:
            verdict = "not swept"
            text += f"; no recent sweep of {', '.join(stale)}"
        elif overdue_ages or (oldest is not None and oldest >= term.term_days):
            verdict = "BREACH"
        elif not holders:
            verdict = "not held"
        elif measured_all:
            verdict = "kept"
        else:
            verdict = "not measured"
        categories.append(
            CategoryRetention(
                name,
                term.label,
                term.term_days,
                term.published,
                holders,
                oldest,
                text,
                len(overdue_ages),
                max(overdue_ages) if overdue_ages else None,
                held,
                verdict,
                undeclared,
            )
        )
    return sources, categories


# ---- the report --------------------------------------------------------------------------------


@dataclass
class AuditReport:
    start: datetime
    end: datetime
    generated_at: datetime
    statement_version: str
    mode: str
    deadline_days: int
    status: checks.AuditStatus
    period: PeriodEvidence
    sources: list[SourceRetention]
    categories: list[CategoryRetention]
    requests: list[checks.RequestStatus]
    head: tuple[int, str] | None
    csv_name: str = "evidence.csv"
    csv_sha256: str = ""

    @property
    def days(self) -> list[date]:
        first, last = self.start.date(), (self.end - timedelta(microseconds=1)).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    @property
    def retention_findings(self) -> list[checks.Finding]:
        out = []
        for c in self.categories:
            if c.verdict == "BREACH":
                detail = (
                    f"{c.overdue} due value(s) still held, oldest {c.overdue_oldest} d"
                    if c.overdue
                    else f"oldest value held {c.oldest_days} d"
                )
                out.append(
                    checks.Finding(
                        "retention", f"{c.category}: past its {c.term_days}-day term: {detail}"
                    )
                )
            elif c.verdict == "not swept":
                out.append(checks.Finding("retention", f"{c.category}: {c.oldest_text}"))
            elif c.verdict == "not measured":
                out.append(checks.Finding("retention", f"{c.category}: {c.oldest_text}", False))
            if c.undeclared:
                out.append(
                    checks.Finding(
                        "retention",
                        f"{c.category} is held in {', '.join(c.undeclared)}, which the statement "
                        "does not list as holding it (a gap in the statement's processor table)",
                        False,
                    )
                )
        return out

    @property
    def problems(self) -> list[checks.Finding]:
        return self.status.problems + [f for f in self.retention_findings if f.problem]

    @property
    def flags(self) -> list[checks.Finding]:
        return self.status.flags + [f for f in self.retention_findings if not f.problem]

    @property
    def ok(self) -> bool:
        return not self.problems

    def totals(self) -> dict[str, dict[str, int]]:
        return {
            source: {a: counts.get(a, 0) for a in ACTIONS}
            for source, counts in sorted(self.period.totals.items())
        }

    def summary(self) -> dict[str, Any]:
        """The report's numbers as data (written next to the HTML as .json)."""
        chain = self.status.chain.report
        return {
            "period": {"start": self.start.isoformat(), "end": self.end.isoformat()},
            "generated_at": self.generated_at.isoformat(),
            "statement_version": self.statement_version,
            "ok": self.ok,
            "problems": [f.text for f in self.problems],
            "flags": [f.text for f in self.flags],
            "chain": asdict(chain),
            "period_rows": {
                "count": self.period.rows,
                "first": list(self.period.first) if self.period.first else None,
                "last": list(self.period.last) if self.period.last else None,
            },
            "evidence_csv": {"name": self.csv_name, "sha256": self.csv_sha256},
            "totals": self.totals(),
            "daily": {
                source: {
                    day.isoformat(): {a: c.get(a, 0) for a in ACTIONS}
                    for day, c in sorted(per_day.items())
                }
                for source, per_day in sorted(self.period.daily.items())
            },
            "events": dict(sorted(self.period.events.items())),
            "verification": {
                "removals": self.status.verification.removals,
                "verified": self.status.verification.verified,
                "still_present": len(self.status.verification.still_present),
                "missing": len(self.status.verification.missing),
                "awaiting": len(self.status.verification.awaiting),
            },
            "retention": [
                {
                    "category": c.category,
                    "term_days": c.term_days,
                    "published": c.published,
                    "oldest_days": c.oldest_days,
                    "measured": c.oldest_text,
                    "overdue": c.overdue,
                    "held": c.held,
                    "verdict": c.verdict,
                }
                for c in self.categories
            ],
            "requests": [
                {
                    "request_ref": r.request_ref,
                    "kind": r.kind,
                    "received_on": r.received_on.isoformat(),
                    "due_on": r.due_on.isoformat(),
                    "closed_on": r.closed_on.isoformat() if r.closed_on else None,
                    "days": r.days_open,
                    "verdict": r.verdict,
                }
                for r in self.requests
            ],
        }


def build(
    engine: Engine,
    policy: RetentionPolicy,
    start: datetime,
    end: datetime,
    now: datetime,
    csv_out: IO[str],
    grace: timedelta = checks.VERIFY_GRACE,
) -> AuditReport:
    status = checks.check_all(engine, now, policy.request_deadline_days, grace)
    period = collect_period(engine, start, end, csv_out)
    sources, categories = retention(engine, policy, end)
    requests = [
        r
        for r in status.requests.rows
        if r.received_on < end.date() + timedelta(days=1)
        and (r.closed_on is None or r.closed_on >= start.date())
    ]
    return AuditReport(
        start=start,
        end=end,
        generated_at=now,
        statement_version=policy.statement_version,
        mode=policy.mode,
        deadline_days=policy.request_deadline_days,
        status=status,
        period=period,
        sources=sources,
        categories=categories,
        requests=requests,
        head=store.head(engine),
    )


# ---- writing -----------------------------------------------------------------------------------


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
) -> WrittenReport:
    """Build the report and write `<name>.html`, `.csv` and `.json` under `base` (an
    ObjectStoragePath or URL; default: `store.report_base()`), plus copies named `latest.*`."""
    from airflow.sdk import ObjectStoragePath

    if base is None:
        base = store.report_base()
    elif not isinstance(base, ObjectStoragePath):
        base = ObjectStoragePath(str(base))
    base.mkdir(parents=True, exist_ok=True)
    name = report_name(start, end)
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as spool:
        report = build(engine, policy, start, end, now, spool, grace)
        spool.seek(0)
        digest = hashlib.sha256()
        csv_path = base / f"{name}.csv"
        with csv_path.open("wb") as target:
            while chunk := spool.read(1 << 16):
                data = chunk.encode("utf-8")
                digest.update(data)
                target.write(data)
    report.csv_name = csv_path.name
    report.csv_sha256 = digest.hexdigest()
    html_text = render_html(report)
    json_text = json.dumps(report.summary(), indent=2, sort_keys=True)
    html_path = base / f"{name}.html"
    json_path = base / f"{name}.json"
    html_path.write_text(html_text, encoding="utf-8")
    json_path.write_text(json_text, encoding="utf-8")
    (base / "latest.html").write_text(html_text, encoding="utf-8")
    (base / "latest.json").write_text(json_text, encoding="utf-8")
    with csv_path.open("rb") as source, (base / "latest.csv").open("wb") as target:
        while chunk := source.read(1 << 16):
            target.write(chunk)
    return WrittenReport(
        str(html_path),
        str(csv_path),
        str(json_path),
        report.csv_sha256,
        report.ok,
        report.period.rows,
    )


# ---- HTML --------------------------------------------------------------------------------------

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1d1d1f}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0 12px} th,td{border:1px solid #d6d6d6;padding:3px 8px}
th{background:#f3f4f6;text-align:left} td.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#1e7b45;font-weight:600} .bad{color:#b00020;font-weight:600} .warn{color:#9a6700}
.muted{color:#666} code{font-size:12px;word-break:break-all} img{max-width:100%}
.banner{padding:10px 14px;border-radius:6px;margin:12px 0}
.banner.ok{background:#e7f5ec} .banner.bad{background:#fdecee}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


class Markup(str):
    """Already escaped HTML (a cell that carries a tag)."""


def _table(
    headers: list[str], rows: list[list[Any]], numeric: set[int] = frozenset(), **attrs
) -> str:
    attr = "".join(f' {k}="{_e(v)}"' for k, v in attrs.items())
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            cls = ' class="n"' if i in numeric else ""
            cells.append(f"<td{cls}>{cell if isinstance(cell, Markup) else _e(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _verdict(text: str, good: tuple[str, ...] = ("kept", "not held", "on time", "open")) -> Markup:
    cls = "ok" if text in good else ("warn" if text in ("due soon", "not measured") else "bad")
    return Markup(f'<span class="{cls}">{_e(text)}</span>')


def _img(data_uri: str | None, alt: str) -> str:
    return f'<img src="{data_uri}" alt="{_e(alt)}">' if data_uri else ""


def render_html(report: AuditReport) -> str:
    status = report.status
    chain = status.chain.report
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Privacy audit report {_e(report.start.date())} to {_e(report.end.date())}</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>KlantenScoren privacy audit report</h1>",
        f"<p class='muted'>Period {_e(_canonical_time(report.start))} up to "
        f"{_e(_canonical_time(report.end))} (UTC) &middot; generated "
        f"{_e(_canonical_time(report.generated_at))} &middot; privacy statement "
        f"{_e(report.statement_version)} &middot; sweep mode {_e(report.mode)}</p>",
    ]
    verdict_cls = "ok" if report.ok else "bad"
    verdict = "All checks pass." if report.ok else f"{len(report.problems)} problem(s) found."
    parts.append(f"<div class='banner {verdict_cls}' id='verdict'><b>{_e(verdict)}</b>")
    if report.problems or report.flags:
        parts.append("<ul>")
        parts += [f"<li class='bad'>{_e(f.text)}</li>" for f in report.problems[:50]]
        parts += [f"<li class='warn'>{_e(f.text)}</li>" for f in report.flags[:50]]
        parts.append("</ul>")
    parts.append("</div>")

    # chain
    parts.append("<h2 id='chain'>1. The evidence chain</h2>")
    chain_cls = "ok" if chain.ok else "bad"
    parts.append(f"<p id='chain-status' class='{chain_cls}'>{_e(chain.summary())}</p>")
    first, last = report.period.first, report.period.last
    parts.append(
        _table(
            ["", "row", "hash"],
            [
                [
                    "head of the whole chain",
                    f"#{chain.head_seq}",
                    Markup(f"<code>{_e(chain.head_hash)}</code>"),
                ],
                [
                    "this period's first row: previous hash",
                    f"#{first[0]}" if first else "-",
                    Markup(f"<code>{_e(first[1])}</code>") if first else "-",
                ],
                [
                    "this period's last row",
                    f"#{last[0]}" if last else "-",
                    Markup(f"<code>{_e(last[1])}</code>") if last else "-",
                ],
            ],
        )
    )
    parts.append(
        f"<p>The period's evidence is in <code>{_e(report.csv_name)}</code> "
        f"({report.period.rows} rows, sha256 <code>{_e(report.csv_sha256)}</code>). "
        "Each row's hash is sha256 over the canonical JSON of its columns (keys sorted, no "
        "spaces, time as <code>YYYY-MM-DDTHH:MM:SS.ffffffZ</code>) including the previous row's "
        "hash. Check it yourself with <code>python -m ks_privacy audit verify --csv "
        f"{_e(report.csv_name)}</code>; the first row's previous hash must equal the last row "
        "hash of the report before this one. Write down the head (row and hash): "
        "<code>python -m ks_privacy audit verify --anchor SEQ:HASH</code> later proves the "
        "chain was not rebuilt since.</p>"
    )
    ver = status.verification
    parts.append(
        f"<p id='verification'>Read-backs: {_e(ver.summary())}. Every erased or redacted "
        "record must be read back from the vendor as gone (<code>verify</code> evidence).</p>"
    )

    # activity
    parts.append("<h2 id='activity'>2. What the sweeps and requests did in this period</h2>")
    totals = report.totals()
    parts.append(
        _table(
            ["source", *ACTIONS],
            [[s, *(t[a] for a in ACTIONS)] for s, t in totals.items()]
            + [["all sources", *(sum(t[a] for t in totals.values()) for a in ACTIONS)]],
            numeric={1, 2, 3, 4},
            id="totals",
        )
    )
    parts.append(
        "<p class='muted'>erased: whole records deleted (including confirmed manual deletions); "
        "redacted: fields past their term emptied; held: due but under legal hold, untouched; "
        "failed: a vendor call failed or a read-back found the value still there.</p>"
    )
    parts.append(_img(charts.activity_chart(report.days, report.period.daily), "records per day"))
    daily_rows = [
        [day.isoformat(), source, *(counts.get(a, 0) for a in ACTIONS)]
        for source, per_day in sorted(report.period.daily.items())
        for day, counts in sorted(per_day.items())
    ]
    daily_rows.sort(key=lambda r: (r[0], r[1]))
    parts.append("<details><summary>Per day and source</summary>")
    parts.append(_table(["day", "source", *ACTIONS], daily_rows, numeric={2, 3, 4, 5}, id="daily"))
    parts.append("</details>")

    # retention
    parts.append("<h2 id='retention'>3. Retention terms: promised and measured</h2>")
    parts.append(
        _img(
            charts.retention_chart(
                [
                    (c.label, c.term_days, c.oldest_days, (c.oldest_days or 0) >= c.term_days)
                    for c in report.categories
                ]
            ),
            "oldest value held per category",
        )
    )
    parts.append(
        _table(
            [
                "category",
                "term (statement)",
                "held by",
                "oldest still held (measured)",
                "due, not removed",
                "legal hold",
                "verdict",
            ],
            [
                [
                    f"{c.label} ({c.category})",
                    f"{c.term_days} days" + ("" if c.published else " (not published)"),
                    ", ".join(
                        h + (" (not in the statement)" if h in c.undeclared else "")
                        for h in c.holders
                    )
                    or "-",
                    c.oldest_text,
                    c.overdue
                    if not c.overdue_oldest
                    else f"{c.overdue} (oldest {c.overdue_oldest} d)",
                    c.held,
                    _verdict(c.verdict),
                ]
                for c in report.categories
            ],
            numeric={5},
            id="retention-table",
        )
    )
    parts.append(
        _table(
            ["source", "last sweep", "scan", "run", "due, not removed", "legal hold"],
            [
                [
                    s.source,
                    _canonical_time(s.scanned_at)
                    if s.scanned_at
                    else Markup("<span class='bad'>never</span>"),
                    "-" if s.full_scan is None else ("full" if s.full_scan else "incremental"),
                    s.run_id or "-",
                    ", ".join(f"{n} {why}" for why, n in sorted(s.overdue_reasons.items())) or "0",
                    s.held_records,
                ]
                for s in report.sources
            ],
            id="sources-table",
        )
    )
    parts.append(
        "<p class='muted'>Ages are in days at the sweep's reference time, counted from the "
        "record's last activity (the clock the policy names per source). The sweep acts one "
        "day before a term ends, so a kept value is always younger than its term.</p>"
    )

    # requests
    parts.append("<h2 id='requests'>4. Data-subject requests (limit: four weeks)</h2>")
    parts.append(
        _img(
            charts.requests_chart(
                [(r.request_ref, r.days_open, r.verdict) for r in report.requests],
                report.deadline_days,
            ),
            "request response times",
        )
    )
    parts.append(
        _table(
            [
                "request",
                "kind",
                "subject (pseudonym)",
                "received",
                "due",
                "answered",
                "days",
                "status",
                "verdict",
            ],
            [
                [
                    r.request_ref,
                    r.kind,
                    r.subject_ref,
                    r.received_on,
                    r.due_on,
                    r.closed_on or "-",
                    r.days_open,
                    r.status,
                    _verdict(r.verdict),
                ]
                for r in report.requests
            ],
            numeric={6},
            id="requests-table",
        )
        if report.requests
        else "<p>No requests in this period.</p>"
    )

    # events
    parts.append("<h2 id='events'>5. All evidence in this period, by event</h2>")
    parts.append(
        _table(
            ["event", "outcome", "rows"],
            [[*key.split(" ", 1), n] for key, n in sorted(report.period.events.items())],
            numeric={2},
            id="events-table",
        )
    )
    parts.append(
        "<p class='muted'>The evidence holds record references, pseudonyms (a keyed hash of the "
        "e-mail address), categories, rules, ages and outcomes: no names, addresses or other "
        "personal values.</p></body></html>"
    )
    return "".join(parts)
