"""Airflow plugin `ks_audit`: the auditors' page (ks_privacy.audit.web) mounted at /ks-audit/
and shown inside the Airflow UI under Browse > "Privacy audit".

Every route requires a signed-in Airflow user (plugin apps are mounted without auth by
default; the app adds Airflow's `requires_authenticated` to each route).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from ks_privacy.audit.web import URL_PREFIX, app


class KsAuditPlugin(AirflowPlugin):
    name = "ks_audit"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "KS privacy audit"}]
    external_views = [
        {
            "name": "Privacy audit",
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            "category": "browse",
            "url_route": "ks-audit",
        }
    ]
