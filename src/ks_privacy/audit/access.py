"""Who may see the auditors' page, and what reaches the api-server's logs.

**The auditor role.** Airflow mounts plugin apps without authentication. Every route of the page
depends on `requires_auditor(method)`: Airflow's own user resolution (JWT from the
`Authorization: Bearer` header or the UI's `_token` cookie; 401 without one), then a check of
the auditor right through the auth manager's `is_authorized_custom_view(method=..., resource_name=
"KS Privacy Audit")`, the hook Airflow 3 gives plugins for their own views:
- FAB auth manager (production): a role, e.g. `Auditor`, with the permissions `can_read` (the
  page, the reports, the exports: method GET) and `can_create` (a person lookup: method POST) on
  the resource `KS Privacy Audit`.
- Keycloak auth manager (production): the request is `Custom#GET` / `Custom#POST` with attribute
  `resource_id` = `KS Privacy Audit`; grant it to the auditors' group or role by a permission on
  the `Custom` resource with those scopes (and that resource id).
- SimpleAuthManager (development): its custom-view check admits every viewer, so it is not
  asked. An auditor there is a user with role `admin`, or a user named in Airflow config
  `[ks_privacy] auditors` (comma-separated; env `AIRFLOW__KS_PRIVACY__AUDITORS`).

**Nothing personal in a log.** `AuditGuard` (pure ASGI, outermost around the page's app) refuses
any request whose query string holds an e-mail address with 400, and blanks the query string in
the shared request scope before the api-server's access log (`HttpAccessLogMiddleware`, which
logs path and query when the response is done) reads it. It also puts the page's security
headers on every response, JSON and errors included.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import HTTPException, Request

RESOURCE_NAME = "KS Privacy Audit"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
        "frame-ancestors 'self'; base-uri 'none'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
_ADDRESS = re.compile(r"[^\s=&@]+@[^\s=&@]+")


def configured_auditors() -> set[str]:
    from airflow.configuration import conf

    value = conf.get("ks_privacy", "auditors", fallback="") or ""
    return {name.strip() for name in value.split(",") if name.strip()}


def is_auditor(user, method: str = "GET") -> bool:
    """Whether the signed-in user holds the auditor right for `method` (see module doc)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

    manager = get_auth_manager()
    if isinstance(manager, SimpleAuthManager):
        role = (getattr(user, "role", None) or "").upper()
        return role == "ADMIN" or user.get_name() in configured_auditors()
    return bool(
        manager.is_authorized_custom_view(method=method, resource_name=RESOURCE_NAME, user=user)
    )


def requires_auditor(method: str = "GET"):
    """A FastAPI dependency: the signed-in user (401 without one), 403 unless an auditor."""

    def dependency(request: Request, user: GetUserDep):
        if not is_auditor(user, method):
            raise HTTPException(
                403, f"the privacy audit is for auditors only ({RESOURCE_NAME}, {method})"
            )
        request.state.auditor = user
        return user

    return dependency


def carries_address(query_string: bytes) -> bool:
    """Whether a query string holds something shaped like an e-mail address (any encoding)."""
    text = query_string.decode("latin-1")
    for _ in range(3):  # %2540 and the like: decode until it stops changing
        decoded = unquote_plus(text)
        if decoded == text:
            break
        text = decoded
    return bool(_ADDRESS.search(text))


class AuditGuard:
    """ASGI wrapper: refuse addresses in query strings before anything logs them; security
    headers on every response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if carries_address(scope.get("query_string", b"")):
            # the access log reads the query from this same scope when the response is done
            scope["query_string"] = b""
            await _refuse(send)
            return

        async def with_headers(message):
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [
                    (k.lower().encode("latin-1"), v.encode("latin-1"))
                    for k, v in SECURITY_HEADERS.items()
                    if k.lower().encode("latin-1") not in present
                ]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


async def _refuse(send) -> None:
    body = (
        b"An e-mail address does not belong in a URL (it would land in logs and browser "
        b"history). Use the lookup form: it sends the address in the request body.\n"
    )
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()),
    ]
    await send({"type": "http.response.start", "status": 400, "headers": headers})
    await send({"type": "http.response.body", "body": body})
