"""ks_privacy: KlantenScoren's privacy operations for Apache Airflow.

This package is also an Airflow provider (entry point `apache_airflow_provider`), so our
connection types and their form fields appear in the Airflow UI's connection form.
"""

__version__ = "0.1.0"

_SECRET = {"type": ["string", "null"], "format": "password"}
_NUMBER = {"type": ["number", "null"]}


def get_provider_info() -> dict:
    return {
        "package-name": "ks-privacy",
        "name": "KlantenScoren privacy operations",
        "description": "Hooks for the processors named in KlantenScoren's privacy statement.",
        "versions": [__version__],
        "connection-types": [
            {
                "connection-type": "activecampaign",
                "hook-class-name": "ks_privacy.hooks.activecampaign.ActiveCampaignHook",
                "hook-name": "ActiveCampaign",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "login", "port"],
                    "relabeling": {"host": "API URL", "password": "API token"},
                    "placeholders": {"host": "https://<account>.api-us1.com/api/3"},
                },
                "conn-fields": {
                    "requests_per_second": {"label": "Requests per second", "schema": _NUMBER},
                    "timeout": {"label": "Timeout (s)", "schema": _NUMBER},
                },
            },
            {
                "connection-type": "tawk",
                "hook-class-name": "ks_privacy.hooks.tawk.TawkHook",
                "hook-name": "Tawk.to",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "login", "port"],
                    "relabeling": {"host": "API URL", "password": "API key"},
                    "placeholders": {"host": "https://api.tawk.to"},
                },
                "conn-fields": {
                    "property_id": {"label": "Property id", "schema": {"type": ["string", "null"]}},
                    "requests_per_second": {"label": "Requests per second", "schema": _NUMBER},
                },
            },
        ],
    }
