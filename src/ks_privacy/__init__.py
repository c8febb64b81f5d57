"""ks_privacy: KlantenScoren's privacy operations for Apache Airflow.

This package is also an Airflow provider (entry point `apache_airflow_provider`), so our
connection types and their form fields appear in the Airflow UI's connection form, and its Test
button runs our hooks' `test_connection`. `conn-fields` lists every extra the hooks read
(tests/sources/test_hook_connections.py holds them to it).
"""

__version__ = "0.1.0"

_TEXT = {"type": ["string", "null"]}
_SECRET = {"type": ["string", "null"], "format": "password"}


def _number(default: float) -> dict:
    return {"type": ["number", "null"], "default": default}


def _integer(default: int) -> dict:
    return {"type": ["integer", "null"], "default": default}


def _pacing(per_second: float) -> dict:
    """What every vendor hook reads to pace and bound its calls."""
    return {
        "requests_per_second": {
            "label": "Requests per second",
            "description": "Client-side pace; keep it at or under the vendor's documented limit.",
            "schema": _number(per_second),
        },
        "timeout": {"label": "Timeout (s)", "schema": _number(30)},
        "retry_max_seconds": {
            "label": "Retry for at most (s)",
            "description": "429s, 5xx and network faults are retried for at most this long.",
            "schema": _number(300),
        },
    }


_RETRY_ATTEMPTS = {
    "retry_attempts": {
        "label": "Tries per call",
        "description": "Tries in all (the first included) on 429s, 5xx and network faults.",
        "schema": _integer(8),
    }
}
_MAX_IN_FLIGHT = {
    "max_in_flight": {
        "label": "Calls under way at once",
        "description": "Deletes and updates in parallel, still paced; 1 is one at a time.",
        "schema": _integer(1),
    }
}


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
                "conn-fields": {**_pacing(5), **_RETRY_ATTEMPTS, **_MAX_IN_FLIGHT},
            },
            {
                "connection-type": "google_contacts",
                "hook-class-name": "ks_privacy.hooks.google_contacts.GoogleContactsHook",
                "hook-name": "Google Workspace contacts (delegated mailbox)",
                "ui-field-behaviour": {
                    "hidden-fields": ["host", "schema", "login", "password", "port"],
                    "relabeling": {},
                    "placeholders": {},
                },
                "conn-fields": {
                    "keyfile_dict": {"label": "Keyfile JSON", "schema": _SECRET},
                    "key_path": {"label": "Keyfile path", "schema": _TEXT},
                    "subject": {
                        "label": "Mailbox (subject)",
                        "description": "The Workspace mailbox whose contacts the service "
                        "account reads (domain-wide delegation, contacts scope).",
                        "schema": _TEXT,
                    },
                    "api_endpoint": {
                        "label": "API endpoint",
                        "description": "Empty for https://people.googleapis.com.",
                        "schema": _TEXT,
                    },
                    **_pacing(1),
                    "num_retries": {
                        "label": "Number of retries",
                        "description": "Retries after the first try on 429s, 5xx and network "
                        "faults (the Google provider's name for it).",
                        "schema": _integer(7),
                    },
                    **_MAX_IN_FLIGHT,
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
                    "property_id": {"label": "Property id", "schema": _TEXT},
                    **_pacing(2),
                    **_RETRY_ATTEMPTS,
                },
            },
        ],
    }
