"""The auditors' page in the Airflow UI: chain status, the latest report, the evidence table
with filters, and the person lookup. Mounted by the plugin in `plugins/ks_audit_plugin.py` at
`/ks-audit/` and shown in the UI's Browse menu; rendered with Starlette's `Jinja2Templates`
(templates `audit/overview.html`, `lookup.html`, `message.html`; autoescape on).

Every route is for auditors only (ks_privacy.audit.access: 401 without a signed-in user, 403
without the auditor right). The lookup takes the e-mail address in a POST body (never in a URL),
turns it into the pseudonym here on the server and forgets it; the lookup itself is evidence and
is rate-limited per user (ks_privacy.audit.lookup). Pages are self-contained HTML (inline CSS,
data-URI images, no scripts, no external assets) with a strict Content-Security-Policy and
`no-store`; `AuditGuard` adds those headers to every response and refuses addresses in URLs.
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

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.templating import Jinja2Templates

from ks_privacy.audit import chain_checks, checks, lookup, store, templating
from ks_privacy.audit.access import AuditGuard, requires_auditor
from ks_privacy.audit.period import csv_value
from ks_privacy.evidence import canonical_time

log = logging.getLogger("ks_privacy.audit.web")

URL_PREFIX = "/ks-audit"
PAGE_ROWS = 100
MAX_FORM_BYTES = 4096
STATUS_TTL = 60.0  # seconds a chain walk result is reused while the chain head is unchanged
CSV_EXPORT_LIMIT = 100_000
DISTINCT_TTL = 600.0  # seconds the filter drop-downs' values are reused
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

templates = Jinja2Templates(env=templating.environment())
reader = APIRouter(dependencies=[Depends(requires_auditor("GET"))])
searcher = APIRouter(dependencies=[Depends(requires_auditor("POST"))])


def _engine():
    from ks_privacy.audit_db import engine_for_connection

    return engine_for_connection()


def _base(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/")


def _page(request: Request, name: str, status_code: int = 200, **values) -> HTMLResponse:
    return templates.TemplateResponse(
        request, name, {"base": _base(request), "nav": True, **values}, status_code=status_code
    )


def _message(request: Request, status_code: int, heading: str, *paragraphs, **values):
    return _page(
        request,
        "audit/message.html",
        status_code,
        title=heading,
        heading=heading,
        paragraphs=paragraphs,
        bad=True,
        link=values.get("link"),
        detail=values.get("detail"),
    )


# ---- status (cached per chain head) -------------------------------------------------------------

_status_lock = threading.Lock()
_status_cache: dict[str, tuple[float, tuple, checks.AuditStatus]] = {}


def _anchors():
    """The anchor store's anchors, signatures checked with the public key when this process
    has one (variable ks_audit_public_key, or the signing key itself)."""
    from ks_privacy import signing

    return chain_checks.load_anchors(public=signing.public_key_for_checks())


def audit_status(engine) -> checks.AuditStatus:
    from ks_privacy.evidence import chain_head
    from ks_privacy.policy import load_policy

    key = str(engine.url)
    head = chain_head(engine)
    with _status_lock:
        cached = _status_cache.get(key)
        if cached and cached[1] == head and time.monotonic() - cached[0] < STATUS_TTL:
            return cached[2]
    status = checks.check_all(
        engine, datetime.now(UTC), load_policy().request_deadline_days, anchors=_anchors()
    )
    with _status_lock:
        _status_cache[key] = (time.monotonic(), head, status)
    return status


def _latest_summary() -> dict | None:
    try:
        return json.loads((store.report_base() / "latest.json").read_text(encoding="utf-8"))
    except Exception:  # no report yet, or the storage is unreachable
        return None


# ---- the evidence table -------------------------------------------------------------------------

_FILTER_FIELDS = ("source", "event", "outcome", "subject", "ref", "run", "date_from", "date_to")
_TEXTS = (
    ("subject", "subject (pseudonym)", "text", 24),
    ("ref", "record ref", "text", 14),
    ("run", "run id", "text", 24),
    ("date_from", "from", "date", 14),
    ("date_to", "to", "date", 14),
)


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


def _evidence_rows(rows: list[dict]) -> list[list]:
    return [
        [
            r["seq"],
            canonical_time(r["recorded_at"])[:19].replace("T", " "),
            r["event"],
            r["outcome"],
            r["source"] or "-",
            r["record_ref"] or "-",
            r["subject_ref"] or "-",
            r["categories"] or "-",
            r["rule"] or "-",
            "-" if r["age_days"] is None else r["age_days"],
            f"{r['dag_id']} / {r['run_id']} / {r['task_id']}",
            {"code": r["row_hash"][:12], "title": r["row_hash"]},
        ]
        for r in rows
    ]


def _evidence_values(request: Request, engine) -> dict:
    flt, chosen = _filter_from(request)
    rows = store.page(engine, flt, PAGE_ROWS)
    total = store.count(engine, store.EvidenceFilter(**{**flt.__dict__, "before_seq": None}))
    older = None
    if len(rows) == PAGE_ROWS:
        older = urlencode({**chosen, "before": rows[-1]["seq"]})
    return {
        "selects": [(c, c, _choices(engine, c)) for c in ("source", "event", "outcome")],
        "texts": _TEXTS,
        "chosen": chosen,
        "rows": _evidence_rows(rows),
        "headers": EVIDENCE_HEADERS,
        "total": total,
        "query": urlencode(chosen),
        "older": older,
    }


def _unavailable(request: Request, exc: Exception) -> HTMLResponse:
    log.warning("audit database unavailable for the auditors' page: %s", type(exc).__name__)
    return _message(
        request,
        503,
        "Privacy audit",
        f"The audit database (connection ks_audit_db) cannot be read: {type(exc).__name__}. "
        "Check the connection in Airflow.",
    )


# ---- routes ------------------------------------------------------------------------------------


@reader.get("/", response_class=HTMLResponse)
def overview(request: Request):
    try:
        engine = _engine()
        if not store.has_trail(engine):
            return _page(request, "audit/overview.html", status=None)
        status = audit_status(engine)
        values = {
            "status": status,
            "newest_anchor": status.chain.newest_anchor,
            "latest": _latest_summary(),
            **_evidence_values(request, engine),
        }
    except HTTPException:
        raise
    except Exception as exc:
        return _unavailable(request, exc)
    return _page(request, "audit/overview.html", **values)


@searcher.post("/lookup", response_class=HTMLResponse)
async def person_lookup(request: Request):
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        raise HTTPException(413, "form too large")
    who = lookup.actor(request.state.auditor.get_id())
    try:
        engine = _engine()
        lookup.check_rate(engine, who)
    except lookup.TooManyLookups as exc:
        raw = None  # the address is never read into anything
        return _message(request, 429, "Person lookup", f"{exc}. Try again later.")
    except Exception as exc:
        return _unavailable(request, exc)
    values = parse_qs(raw.decode("utf-8", errors="replace"), max_num_fields=5)
    email = (values.get("email") or [""])[0]
    try:
        subject = lookup.pseudonym_of(email)
    except lookup.NotAnEmail as exc:
        return _page(request, "audit/lookup.html", 400, error=f"{exc}.")
    except Exception as exc:  # the key is missing or unreadable
        return _page(request, "audit/lookup.html", 503, error=f"No lookup possible: {exc}")
    finally:
        email = values = raw = None  # drop the address as soon as possible
    try:
        seq = lookup.record_lookup(engine, subject, who, "audit-page")
        history = lookup.history(engine, subject)
    except Exception as exc:
        return _unavailable(request, exc)
    return _page(
        request,
        "audit/lookup.html",
        error=None,
        subject=subject,
        subject_query=urlencode({"subject": subject}),
        lookup_seq=seq,
        history=history,
        summary_rows=[
            [source, ", ".join(f"{n}x {k}" for k, n in sorted(counts.items()))]
            for source, counts in sorted(history.by_source().items())
        ],
        request_rows=[
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
        evidence_rows=_evidence_rows(history.evidence),
        headers=EVIDENCE_HEADERS,
    )


def _report_file(name: str, media_type: str) -> Response:
    try:
        data = (store.report_base() / name).read_bytes()
    except Exception:
        raise HTTPException(404, "no report yet: ks_audit_verify writes it daily") from None
    headers = {}
    if not media_type.startswith("text/html"):
        headers["Content-Disposition"] = f'attachment; filename="ks-audit-{name}"'
    return Response(data, media_type=media_type, headers=headers)


@reader.get("/report")
def latest_report():
    return _report_file("latest.html", "text/html; charset=utf-8")


@reader.get("/report.csv")
def latest_report_csv():
    return _report_file("latest.csv", "text/csv; charset=utf-8")


@reader.get("/report.json")
def latest_report_json():
    return _report_file("latest.json", "application/json")


@reader.get("/{name}.sig")
def latest_signature(name: str):
    if name not in ("report.html", "report.csv", "report.json"):
        raise HTTPException(404, "only the latest report's files are signed here")
    return _report_file(f"latest.{name.split('.')[1]}.sig", "application/octet-stream")


@reader.get("/evidence.csv")
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

    headers = {"Content-Disposition": 'attachment; filename="evidence.csv"'}
    return StreamingResponse(rows(), media_type="text/csv; charset=utf-8", headers=headers)


@reader.get("/status.json")
def status_json():
    status = audit_status(_engine())
    newest = status.chain.newest_anchor
    return {
        "ok": status.ok,
        "chain_intact": status.chain.ok,
        "chain": asdict(status.chain.report),
        "newest_anchor": {"name": newest.name, "seq": newest.seq} if newest else None,
        "problems": [f.text for f in status.problems],
        "flags": [f.text for f in status.flags],
    }


# ---- the app -----------------------------------------------------------------------------------


def build_app():
    application = FastAPI(title="KS privacy audit", docs_url=None, redoc_url=None, openapi_url=None)
    application.include_router(reader)
    application.include_router(searcher)

    @application.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 401:
            return _message(
                request,
                401,
                "Sign in first",
                "The privacy audit page is for signed-in Airflow users with the auditor role.",
                link={"href": "/auth/login", "text": "Sign in to Airflow"},
                detail=exc.detail,
            )
        if exc.status_code == 403:
            return _message(
                request,
                403,
                "Auditors only",
                "The privacy audit page, its exports and the person lookup are for auditors. "
                "Ask an Airflow admin for the auditor role (docs/auditors.md).",
                detail=exc.detail,
            )
        return _message(request, exc.status_code, "Privacy audit", str(exc.detail))

    return AuditGuard(application)


app = build_app()
