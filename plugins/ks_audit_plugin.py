"""Airflow plugin `ks_audit`: the auditors' page (ks_privacy.audit.web) mounted at /ks-audit/
and shown inside the Airflow UI under Browse > "Privacy audit".

Every route is for auditors only (plugin apps are mounted without auth by default; the app
checks each request through Airflow's auth manager: ks_privacy.audit.access and
docs/auditors.md say how "auditor" maps onto SimpleAuthManager, FAB and Keycloak).

Airflow loads every plugin in every task process too, where the page is never served: the app
(and the API server's auth code it imports, about 3 s of CPU) is built on its first request.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/ks-audit"


class _AppOnFirstRequest:
    """An ASGI app that imports and builds the real one when the API server first calls it."""

    def __init__(self):
        self._app = None

    async def __call__(self, scope, receive, send):
        if self._app is None:
            from ks_privacy.audit.web import app

            self._app = app
        await self._app(scope, receive, send)


class KsAuditPlugin(AirflowPlugin):
    name = "ks_audit"
    fastapi_apps = [
        {"app": _AppOnFirstRequest(), "url_prefix": URL_PREFIX, "name": "KS privacy audit"}
    ]
    external_views = [
        {
            "name": "Privacy audit",
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            "category": "browse",
            "url_route": "ks-audit",
        }
    ]
