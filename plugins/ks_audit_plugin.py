"""Airflow plugin `ks_audit`: two pages in the Airflow UI, each its own FastAPI app.

- the auditors' page (ks_privacy.audit.web) at /ks-audit/, Browse > "Privacy audit";
- the ops page to register data-subject requests and start their runs
  (ks_privacy.request_web) at /ks-requests/, Browse > "Privacy requests".

The auditors' page is for auditors only: it checks each request through Airflow's auth manager
(ks_privacy.audit.access; docs/auditors.md says how "auditor" maps onto SimpleAuthManager, FAB
and Keycloak). The requests page is for whoever may trigger the request DAGs
(ks_privacy.request_web.may_register). Plugin apps are mounted without auth by default: each
app checks every route itself.

Airflow loads every plugin in every task process too, where the pages are never served: each
app (and the API server's auth code it imports, about 3 s of CPU) is built on its first request.
"""

from __future__ import annotations

from importlib import import_module

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/ks-audit"
REQUESTS_URL_PREFIX = "/ks-requests"


class _AppOnFirstRequest:
    """An ASGI app that imports and builds the real one (`module:app`) when the API server
    first calls it."""

    def __init__(self, module: str):
        self._module = module
        self._app = None

    async def __call__(self, scope, receive, send):
        if self._app is None:
            self._app = import_module(self._module).app
        await self._app(scope, receive, send)


class KsAuditPlugin(AirflowPlugin):
    name = "ks_audit"
    fastapi_apps = [
        {
            "app": _AppOnFirstRequest("ks_privacy.audit.web"),
            "url_prefix": URL_PREFIX,
            "name": "KS privacy audit",
        },
        {
            "app": _AppOnFirstRequest("ks_privacy.request_web"),
            "url_prefix": REQUESTS_URL_PREFIX,
            "name": "KS privacy requests",
        },
    ]
    external_views = [
        {
            "name": "Privacy audit",
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            "category": "browse",
            "url_route": "ks-audit",
        },
        {
            "name": "Privacy requests",
            "href": f"{REQUESTS_URL_PREFIX}/",
            "destination": "nav",
            "category": "browse",
            "url_route": "ks-requests",
        },
    ]
