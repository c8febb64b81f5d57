"""The auditors' page in the Airflow UI: chain status, the latest report, the evidence table
with filters, and the person lookup. Mounted by the plugin in `plugins/ks_audit_plugin.py` at
`/ks-audit/` and shown in the UI's Browse menu.

Airflow mounts plugin apps without authentication, so every route here depends on
`requires_authenticated()`: Airflow's JWT from the `Authorization: Bearer` header or the UI's
`_token` cookie (the page runs in the UI's same-origin iframe, so the cookie arrives). Without
it: 401, with a link to Airflow's login.

The lookup takes the e-mail address in a POST body (never in a URL, so never in access logs or
browser history), turns it into the pseudonym here on the server, and forgets it: it is not
logged, stored or sent back. Pages are self-contained HTML (inline CSS, data-URI images, no
scripts, no external assets) served with a strict Content-Security-Policy and `no-store`.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlencode

from airflow.api_fastapi.core_api.security import requires_authenticated
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ks_privacy.audit import checks, lookup, store
from ks_privacy.audit.report import STYLE, Markup, _e, _table, csv_value
from ks_privacy.evidence import _canonical_time

log = logging.getLogger("ks_privacy.audit.web")

URL_PREFIX = "/ks-audit"
PAGE_ROWS = 100
MAX_FORM_BYTES = 4096
STATUS_TTL = 60.0  # seconds a chain walk result is reused while the chain head is unchanged
CSV_EXPORT_LIMIT = 100_000
DISTINCT_TTL = 600.0  # seconds the filter drop-downs' values are reused
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
        "frame-ancestors 'self'; base-uri 'none'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
PAGE_STYLE = (
    STYLE
    + """
nav{margin-bottom:8px} nav a{margin-right:14px}
form.filters{display:flex;flex-wrap:wrap;gap:6px 12px;align-items:end;margin:8px 0}
form.filters label{display:flex;flex-direction:column;font-size:12px;color:#444}
input,select{font:inherit;padding:2px 4px} td{font-size:13px} section{margin-bottom:18px}
.scroll{overflow-x:auto} .scroll td{white-space:nowrap;font-size:12px}
"""
)


# Airflow's own check: a valid JWT (bearer header or the UI's `_token` cookie) or 401/403.
router = APIRouter(dependencies=[Depends(requires_authenticated())])


def _engine():
    from ks_privacy.audit_db import engine_for_connection

    return engine_for_connection()


def _base(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/")


def _page(request: Request, title: str, body: str, status_code: int = 200) -> HTMLResponse:
    base = _base(request)
    html = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_e(title)}</title><style>{PAGE_STYLE}</style></head><body>"
        f"<nav><b>Privacy audit</b> &middot; <a href='{base}/'>status &amp; evidence</a>"
        f"<a href='{base}/#lookup'>person lookup</a>"
        f"<a href='{base}/report' target='_blank' rel='noopener'>latest report</a></nav>"
        f"{body}</body></html>"
    )
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)


# ---- status (cached per chain head) -------------------------------------------------------------

_status_lock = threading.Lock()
_status_cache: dict[str, tuple[float, tuple, checks.AuditStatus]] = {}


def audit_status(engine) -> checks.AuditStatus:
    from ks_privacy.policy import load_policy

    key = str(engine.url)
    head = store.head(engine)
    with _status_lock:
        cached = _status_cache.get(key)
        if cached and cached[1] == head and time.monotonic() - cached[0] < STATUS_TTL:
            return cached[2]
    status = checks.check_all(engine, datetime.now(UTC), load_policy().request_deadline_days)
    with _status_lock:
        _status_cache[key] = (time.monotonic(), head, status)
    return status


def _status_section(status: checks.AuditStatus) -> str:
    chain = status.chain.report
    cls = "ok" if chain.ok else "bad"
    parts = [
        "<section id='status'><h2>Status</h2>",
        f"<p id='chain-status' class='{cls}'>{_e(chain.summary())}</p>",
        f"<p id='readbacks'>Read-backs: {_e(status.verification.summary())}</p>",
        f"<p id='requests-status'>Requests: {_e(status.requests.summary())}</p>",
    ]
    if chain.ok and chain.head_seq:
        parts.append(
            f"<p class='muted'>Anchor to note down: <code>{chain.head_seq}:{_e(chain.head_hash)}"
            "</code> (later: <code>python -m ks_privacy audit verify --anchor SEQ:HASH</code>)</p>"
        )
    if status.problems or status.flags:
        parts.append("<ul id='findings'>")
        parts += [f"<li class='bad'>{_e(f.text)}</li>" for f in status.problems[:30]]
        parts += [f"<li class='warn'>{_e(f.text)}</li>" for f in status.flags[:30]]
        parts.append("</ul>")
    parts.append(
        f"<p class='muted'>Checked {_e(_canonical_time(status.checked_at))} against the audit "
        "database itself.</p></section>"
    )
    return "".join(parts)


def _latest_report_section(base: str) -> str:
    try:
        summary = json.loads((store.report_base() / "latest.json").read_text(encoding="utf-8"))
    except Exception:  # no report yet, or the storage is unreachable
        return (
            "<section id='report'><h2>Latest report</h2><p>No report yet: it is written by the "
            "daily DAG <code>ks_audit_verify</code> (or <code>python -m ks_privacy audit "
            "report</code>).</p></section>"
        )
    period = summary.get("period", {})
    csv_info = summary.get("evidence_csv", {})
    verdict = "all checks passed" if summary.get("ok") else "problems found"
    return (
        "<section id='report'><h2>Latest report</h2>"
        f"<p><a href='{base}/report' target='_blank' rel='noopener'>Open the report</a> "
        f"(period {_e(period.get('start'))} to {_e(period.get('end'))}, generated "
        f"{_e(summary.get('generated_at'))}: {_e(verdict)}) &middot; "
        f"<a href='{base}/report.csv'>evidence CSV</a> (sha256 <code>"
        f"{_e(csv_info.get('sha256'))}</code>) &middot; <a href='{base}/report.json'>summary "
        "JSON</a></p></section>"
    )


def _lookup_form(base: str) -> str:
    return (
        "<section id='lookup'><h2>What happened to this person?</h2>"
        f"<form method='post' action='{base}/lookup' autocomplete='off'>"
        "<label>E-mail address <input type='email' name='email' id='lookup-email' required "
        "maxlength='254' autocomplete='off'></label> <button type='submit' id='lookup-submit'>"
        "Look up</button></form><p class='muted'>The address is turned into its pseudonym on the "
        "server and then forgotten: it is not logged, stored or shown.</p></section>"
    )


# ---- the evidence table -------------------------------------------------------------------------

_FILTER_FIELDS = ("source", "event", "outcome", "subject", "ref", "run", "date_from", "date_to")


def _filter_from(request: Request) -> tuple[store.EvidenceFilter, dict[str, str]]:
    q = {k: request.query_params.get(k, "").strip() for k in (*_FILTER_FIELDS, "before")}

    def day(value: str) -> date | None:
        try:
            return date.fromisoformat(value) if value else None
        except ValueError:
            raise HTTPException(400, f"not a date (YYYY-MM-DD): {value[:20]!r}") from None

    start, end = day(q["date_from"]), day(q["date_to"])
    before = q["before"]
    flt = store.EvidenceFilter(
        start=store.day_start(start) if start else None,
        end=store.day_start(end + timedelta(days=1)) if end else None,
        source=q["source"] or None,
        event=q["event"] or None,
        outcome=q["outcome"] or None,
        subject_ref=q["subject"] or None,
        record_ref=q["ref"] or None,
        run_id=q["run"] or None,
        before_seq=int(before) if before.isdigit() else None,
    )
    return flt, {k: v for k, v in q.items() if v and k != "before"}


_distinct_cache: dict[tuple[str, str], tuple[float, list[str]]] = {}


def _choices(engine, column: str) -> list[str]:
    """Values for a filter's drop-down: a full scan on a big table, so reused for a while."""
    key = (str(engine.url), column)
    cached = _distinct_cache.get(key)
    if cached and time.monotonic() - cached[0] < DISTINCT_TTL:
        return cached[1]
    values = store.distinct(engine, column)
    _distinct_cache[key] = (time.monotonic(), values)
    return values


def _select(name: str, label: str, values: list[str], chosen: str) -> str:
    options = ["<option value=''>(any)</option>"] + [
        f"<option value='{_e(v)}'{' selected' if v == chosen else ''}>{_e(v)}</option>"
        for v in values
    ]
    return f"<label>{label}<select name='{name}'>{''.join(options)}</select></label>"


def _text(name: str, label: str, value: str, kind: str = "text", size: int = 14) -> str:
    return (
        f"<label>{label}<input type='{kind}' name='{name}' value='{_e(value)}' size='{size}'>"
        "</label>"
    )


def _evidence_rows(rows: list[dict]) -> list[list]:
    return [
        [
            r["seq"],
            _canonical_time(r["recorded_at"])[:19].replace("T", " "),
            r["event"],
            r["outcome"],
            r["source"] or "-",
            r["record_ref"] or "-",
            r["subject_ref"] or "-",
            r["categories"] or "-",
            r["rule"] or "-",
            "-" if r["age_days"] is None else r["age_days"],
            f"{r['dag_id']} / {r['run_id']} / {r['task_id']}",
            Markup(f"<code title='{_e(r['row_hash'])}'>{_e(r['row_hash'][:12])}</code>"),
        ]
        for r in rows
    ]


EVIDENCE_HEADERS = [
    "#",
    "recorded (UTC)",
    "event",
    "outcome",
    "source",
    "record",
    "subject",
    "categories",
    "rule",
    "age (d)",
    "dag / run / task",
    "hash",
]


def _evidence_section(request: Request, engine) -> str:
    base = _base(request)
    flt, chosen = _filter_from(request)
    rows = store.page(engine, flt, PAGE_ROWS)
    total = store.count(engine, store.EvidenceFilter(**{**flt.__dict__, "before_seq": None}))
    form = [
        f"<form class='filters' method='get' action='{base}/#evidence'>",
        _select("source", "source", _choices(engine, "source"), chosen.get("source", "")),
        _select("event", "event", _choices(engine, "event"), chosen.get("event", "")),
        _select("outcome", "outcome", _choices(engine, "outcome"), chosen.get("outcome", "")),
        _text("subject", "subject (pseudonym)", chosen.get("subject", ""), size=24),
        _text("ref", "record ref", chosen.get("ref", "")),
        _text("run", "run id", chosen.get("run", ""), size=24),
        _text("date_from", "from", chosen.get("date_from", ""), "date"),
        _text("date_to", "to", chosen.get("date_to", ""), "date"),
        "<button type='submit' id='filter-submit'>Filter</button>",
        f"<a href='{base}/#evidence'>clear</a></form>",
    ]
    query = urlencode(chosen)
    links = [f"<a href='{base}/evidence.csv?{_e(query)}'>these rows as CSV</a>"]
    if len(rows) == PAGE_ROWS:
        older = urlencode({**chosen, "before": rows[-1]["seq"]})
        links.append(f"<a href='{base}/?{_e(older)}#evidence' id='older'>older rows</a>")
    return (
        "<section id='evidence'><h2>Evidence</h2>"
        + "".join(form)
        + f"<p id='evidence-count'>{total} matching rows; newest first, {len(rows)} shown "
        f"&middot; {' &middot; '.join(links)}</p>"
        + "<div class='scroll'>"
        + _table(EVIDENCE_HEADERS, _evidence_rows(rows), numeric={0, 9}, id="evidence-table")
        + "</div></section>"
    )


def _unavailable(request: Request, exc: Exception) -> HTMLResponse:
    log.warning("audit database unavailable for the auditors' page: %s", type(exc).__name__)
    return _page(
        request,
        "Privacy audit",
        "<h1>Privacy audit</h1><p class='bad'>The audit database (connection "
        f"<code>ks_audit_db</code>) cannot be read: {_e(type(exc).__name__)}. Check the "
        "connection in Airflow.</p>",
        status_code=503,
    )


# ---- routes ------------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def overview(request: Request):
    try:
        engine = _engine()
        if not store.has_trail(engine):
            body = "<h1>Privacy audit</h1><p>No audit trail yet (no table ks_evidence).</p>"
            return _page(request, "Privacy audit", body + _lookup_form(_base(request)))
        body = (
            "<h1>Privacy audit</h1>"
            + _status_section(audit_status(engine))
            + _latest_report_section(_base(request))
            + _lookup_form(_base(request))
            + _evidence_section(request, engine)
        )
    except HTTPException:
        raise
    except Exception as exc:
        return _unavailable(request, exc)
    return _page(request, "Privacy audit", body)


@router.post("/lookup", response_class=HTMLResponse)
async def person_lookup(request: Request):
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        raise HTTPException(413, "form too large")
    values = parse_qs(raw.decode("utf-8", errors="replace"), max_num_fields=5)
    email = (values.get("email") or [""])[0]
    base = _base(request)
    try:
        subject = lookup.pseudonym_of(email)
    except lookup.NotAnEmail as exc:
        body = f"<h1>Person lookup</h1><p class='bad'>{_e(exc)}.</p>{_lookup_form(base)}"
        return _page(request, "Person lookup", body, status_code=400)
    except Exception as exc:  # the key is missing or unreadable
        body = (
            f"<h1>Person lookup</h1><p class='bad'>No lookup possible: {_e(exc)}</p>"
            f"{_lookup_form(base)}"
        )
        return _page(request, "Person lookup", body, status_code=503)
    finally:
        email = values = raw = None  # drop the address as soon as possible
    try:
        history = lookup.history(_engine(), subject)
    except Exception as exc:
        return _unavailable(request, exc)
    summary = history.by_source()
    parts = [
        "<h1>Person lookup</h1><section id='lookup-result'>",
        f"<p>Pseudonym <code id='pseudonym'>{_e(subject)}</code>: "
        f"<span id='lookup-count'>{len(history.evidence)}</span> evidence rows. "
        f"<a href='{base}/?{urlencode({'subject': subject})}#evidence'>open in the evidence "
        "table</a></p>",
    ]
    if summary:
        parts.append(
            _table(
                ["source", "what happened"],
                [
                    [source, ", ".join(f"{n}x {k}" for k, n in sorted(counts.items()))]
                    for source, counts in sorted(summary.items())
                ],
                id="lookup-summary",
            )
        )
    else:
        parts.append(
            "<p id='lookup-none'>No evidence for this person: never in a swept system, nothing "
            "due yet, or a different address.</p>"
        )
    if history.requests:
        parts.append(
            _table(
                ["request", "kind", "received", "due", "status", "closed"],
                [
                    [
                        r["request_ref"],
                        r["kind"],
                        r["received_on"],
                        r["due_on"],
                        r["status"],
                        r["closed_at"].date() if r["closed_at"] else "-",
                    ]
                    for r in history.requests
                ],
                id="lookup-requests",
            )
        )
    if history.evidence:
        parts.append(
            "<div class='scroll'>"
            + _table(
                EVIDENCE_HEADERS,
                _evidence_rows(history.evidence),
                numeric={0, 9},
                id="lookup-evidence",
            )
            + "</div>"
        )
    parts.append("</section>" + _lookup_form(base))
    return _page(request, "Person lookup", "".join(parts))


def _report_file(name: str, media_type: str) -> Response:
    try:
        data = (store.report_base() / name).read_bytes()
    except Exception:
        raise HTTPException(404, "no report yet: ks_audit_verify writes it daily") from None
    headers = dict(SECURITY_HEADERS)
    if not media_type.startswith("text/html"):
        headers["Content-Disposition"] = f'attachment; filename="ks-audit-{name}"'
    return Response(data, media_type=media_type, headers=headers)


@router.get("/report")
def latest_report():
    return _report_file("latest.html", "text/html; charset=utf-8")


@router.get("/report.csv")
def latest_report_csv():
    return _report_file("latest.csv", "text/csv; charset=utf-8")


@router.get("/report.json")
def latest_report_json():
    return _report_file("latest.json", "application/json")


@router.get("/evidence.csv")
def evidence_csv(request: Request):
    flt, _ = _filter_from(request)
    engine = _engine()

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(store.ALL_COLUMNS)
        for i, row in enumerate(store.iter_evidence(engine, flt)):
            if i >= CSV_EXPORT_LIMIT:
                break
            writer.writerow([csv_value(c, row[c]) for c in store.ALL_COLUMNS])
            if buffer.tell() > 1 << 16:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    headers = {**SECURITY_HEADERS, "Content-Disposition": 'attachment; filename="evidence.csv"'}
    return StreamingResponse(rows(), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/status.json")
def status_json():
    status = audit_status(_engine())
    chain = status.chain.report
    return {
        "ok": status.ok,
        "chain": asdict(chain),
        "problems": [f.text for f in status.problems],
        "flags": [f.text for f in status.flags],
    }


# ---- the app -----------------------------------------------------------------------------------


def build_app() -> FastAPI:
    application = FastAPI(title="KS privacy audit", docs_url=None, redoc_url=None, openapi_url=None)
    application.include_router(router)

    @application.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code in (401, 403):
            body = (
                "<h1>Sign in first</h1><p>The privacy audit page is for signed-in Airflow users. "
                "<a href='/auth/login'>Sign in to Airflow</a>, then open it from the Browse menu."
                f"</p><p class='muted'>({_e(exc.detail)})</p>"
            )
            return HTMLResponse(
                f"<!doctype html><html><head><meta charset='utf-8'><title>Sign in</title><style>"
                f"{PAGE_STYLE}</style></head><body>{body}</body></html>",
                status_code=exc.status_code,
                headers=SECURITY_HEADERS,
            )
        return _page(
            request, "Privacy audit", f"<p class='bad'>{_e(exc.detail)}</p>", exc.status_code
        )

    return application


app = build_app()
