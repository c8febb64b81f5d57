"""The "Privacy requests" page in the Airflow UI: ops register a data-subject request without a
shell, and start its run. Mounted by the plugin in `plugins/ks_audit_plugin.py` at
`/ks-requests/` (Browse > Privacy requests).

The address (and a rectification's new values) arrive in a POST body only, go through the same
`register_request` as the CLI (into the vault) and are not logged, stored elsewhere or sent
back. The run is then triggered with the reference only, as the signed-in user. Who may do
this: `may_register`, the one access check (today: whoever may trigger the request's DAG in
Airflow). Every route needs a signed-in Airflow user (Airflow's JWT, as for the audit page).
"""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from airflow.api_fastapi.core_api.security import GetUserDep, requires_authenticated
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse

from ks_privacy.registration import DAG_OF_KIND, how_to_trigger, register_request
from ks_privacy.request_params import CHANGE_PARAMS, REASONS, InvalidRequest

log = logging.getLogger("ks_privacy.request_web")

URL_PREFIX = "/ks-requests"
MAX_FORM_BYTES = 8192
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'self'; base-uri 'none'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
STYLE = (
    "body{font:14px system-ui,sans-serif;margin:16px;max-width:900px}"
    "label{display:block;margin:6px 0}input,select{font:inherit;padding:2px 4px}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}"
    ".bad{color:#a00}.ok{color:#070}.muted{color:#666;font-size:12px}fieldset{margin:8px 0}"
)

router = APIRouter(dependencies=[Depends(requires_authenticated())])


def may_register(user, kind: str) -> bool:
    """The one access check: may this user register (and so start) a request of this kind?
    Today: whoever Airflow lets trigger the request's DAG (its auth manager's DAG-run POST)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import (
        DagAccessEntity,
        DagDetails,
    )

    return get_auth_manager().is_authorized_dag(
        method="POST",
        access_entity=DagAccessEntity.RUN,
        details=DagDetails(id=DAG_OF_KIND[kind]),
        user=user,
    )


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{_e(title)}</h1>{body}</body></html>",
        status_code=status_code,
        headers=HEADERS,
    )


def _form(base: str) -> str:
    kinds = "".join(f"<option>{k}</option>" for k in DAG_OF_KIND)
    reasons = "".join(f"<option>{r}</option>" for r in REASONS)
    changes = "".join(
        f"<label>{param.replace('_', ' ')} <input name='{param}' autocomplete='off'></label>"
        for param in CHANGE_PARAMS
    )
    return (
        f"<form method='post' action='{base}/register' autocomplete='off'>"
        f"<label>Kind <select name='kind'>{kinds}</select></label>"
        "<label>Request reference <input name='request_ref' placeholder='REQ-2026-0042' "
        "required></label>"
        "<label>E-mail address of the person <input name='subject_email' type='email' "
        "required></label>"
        "<label>Received on <input name='received_on' type='date' required></label>"
        "<label><input name='identity_verified' type='checkbox'> Identity verified on a copy "
        "with photo, MRZ, document number and BSN blacked out (never uploaded or stored)</label>"
        "<label>Verified by (staff name) <input name='identity_verified_by' required></label>"
        f"<label>Reason (erasure) <select name='reason'>{reasons}</select></label>"
        f"<fieldset><legend>Rectification: only the fields that change</legend>{changes}"
        "</fieldset>"
        "<label><input name='trigger' type='checkbox' checked> Start the request's run now"
        "</label><label><input name='dry_run' type='checkbox'> as a dry run (change nothing)"
        "</label><button type='submit'>Register</button></form>"
        "<p class='muted'>The address goes into the encrypted request vault and is destroyed "
        "when the request closes. The run carries only the reference.</p>"
    )


def _open_requests() -> str:
    from ks_privacy.audit_db import engine_for_connection
    from ks_privacy.evidence import AuditTrail
    from ks_privacy.register import Register

    rows = [r for r in Register(AuditTrail(engine_for_connection())).all() if not r.closed]
    if not rows:
        return "<p id='open-requests'>No open requests.</p>"
    cells = "".join(
        f"<tr><td>{_e(r.request_ref)}</td><td>{_e(r.kind)}</td><td>{_e(r.status)}</td>"
        f"<td>{_e(r.received_on)}</td><td>{_e(r.due_on)}</td></tr>"
        for r in rows
    )
    return (
        "<h2>Open requests</h2><table id='open-requests'><tr><th>request</th><th>kind</th>"
        f"<th>status</th><th>received</th><th>due</th></tr>{cells}</table>"
    )


def _base(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/")


def _same_origin(request: Request) -> bool:
    """A browser's cross-site form post carries another Origin: refused (no CSRF)."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host")


@router.get("/", response_class=HTMLResponse)
def requests_page(request: Request):
    try:
        listing = _open_requests()
    except Exception as exc:  # the audit database is unreachable: say so, keep the form
        listing = f"<p class='bad'>The register cannot be read: {_e(type(exc).__name__)}</p>"
    return _page("Privacy requests", _form(_base(request)) + listing)


@router.post("/register", response_class=HTMLResponse)
async def register(request: Request, user: GetUserDep):
    if not _same_origin(request):
        raise HTTPException(403, "cross-site form posts are refused")
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        raise HTTPException(413, "form too large")
    values = {
        k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace"), max_num_fields=20).items()
    }
    raw = None
    kind = values.pop("kind", "")
    if kind not in DAG_OF_KIND:
        raise HTTPException(400, f"kind must be one of {', '.join(DAG_OF_KIND)}")
    if not may_register(user, kind):
        raise HTTPException(403, f"you may not start {DAG_OF_KIND[kind]}")
    start, dry_run = values.pop("trigger", "") == "on", values.pop("dry_run", "") == "on"
    values["identity_verified"] = values.get("identity_verified") == "on"
    try:
        done = _register(kind, values, user.get_name())
    except InvalidRequest as refusal:
        body = f"<p class='bad' id='refusal'>{_e(refusal)}. Nothing was registered.</p>"
        return _page("Privacy requests", body + _form(_base(request)), status_code=400)
    finally:
        values.clear()  # drop the address as soon as possible
    row = done.row
    said = "registered" if done.new else "was already registered (nothing changed)"
    parts = [
        f"<p class='ok' id='registered'>Request {_e(row.request_ref)} ({_e(row.kind)}) {said}: "
        f"status {_e(row.status)}, due {_e(row.due_on)}.</p>"
    ]
    if start:
        parts.append(_start(row.kind, row.request_ref, dry_run, user.get_name()))
    else:
        lines = how_to_trigger(row.kind, row.request_ref, str(request.base_url).rstrip("/"))
        parts.append("<ul>" + "".join(f"<li><code>{_e(x)}</code></li>" for x in lines) + "</ul>")
    return _page(
        "Privacy requests", "".join(parts) + f"<p><a href='{_base(request)}/'>back</a></p>"
    )


def _register(kind: str, values: dict, user_name: str):
    from ks_privacy.audit_db import engine_for_connection, ensure_schema
    from ks_privacy.evidence import AuditTrail, RunContext
    from ks_privacy.policy import load_policy
    from ks_privacy.pseudonym import pseudonymiser_from_airflow

    engine = engine_for_connection()
    ensure_schema(engine)
    trail = AuditTrail(engine, RunContext(dag_id="ui", run_id="ui", task_id="request register"))
    return register_request(
        trail, pseudonymiser_from_airflow(), load_policy(), kind, values, registered_by=user_name
    )


def _start(kind: str, ref: str, dry_run: bool, user_name: str) -> str:
    """Trigger the run as the signed-in user, with the reference only."""
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.utils.types import DagRunTriggeredByType

    dag_id = DAG_OF_KIND[kind]
    try:
        run = trigger_dag(
            dag_id,
            triggered_by=DagRunTriggeredByType.UI,
            triggering_user_name=user_name,
            conf={"request_ref": ref, "dry_run": dry_run},
            run_after=datetime.now(UTC),
        )
    except Exception as exc:  # not parsed yet, or not allowed: say how to start it by hand
        lines = "".join(f"<li><code>{_e(x)}</code></li>" for x in how_to_trigger(kind, ref))
        return (
            f"<p class='bad' id='not-started'>{_e(dag_id)} could not be started "
            f"({_e(type(exc).__name__)}). Start it by hand:</p><ul>{lines}</ul>"
        )
    return (
        f"<p id='started'>Started <a href='/dags/{_e(dag_id)}/runs/{_e(run.run_id)}' "
        f"target='_top'>{_e(dag_id)} run <span id='run-id'>{_e(run.run_id)}</span></a>"
        f"{' (dry run)' if dry_run else ''}.</p>"
    )


def build_app() -> FastAPI:
    from starlette.exceptions import HTTPException as StarletteHTTPException

    application = FastAPI(
        title="KS privacy requests", docs_url=None, redoc_url=None, openapi_url=None
    )
    application.include_router(router)

    @application.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 401:
            body = (
                "<p>This page is for signed-in Airflow users. <a href='/auth/login'>Sign in to "
                f"Airflow</a>, then open it from the Browse menu.</p><p class='muted'>"
                f"({_e(exc.detail)})</p>"
            )
            return _page("Sign in first", body, exc.status_code)
        return _page("Privacy requests", f"<p class='bad'>{_e(exc.detail)}</p>", exc.status_code)

    return application


app = build_app()
