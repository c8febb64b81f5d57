"""The staff of the distributed run: Airflow users of SimpleAuthManager and Airflow variable
`ks_people`. `admin` triggers the runs and confirms Tawk deletions; the erasure's approval is
therefore assigned to `anna` alone (four eyes: who triggered it may not approve it), and the
e-mail that it waits goes to her, through the test's SMTP server."""

from __future__ import annotations

import json

ADMIN_USER = "admin"
APPROVER = "anna"
VERIFIER = "Vera Verifier"  # who checked the ID copy: a staff member without an Airflow login
USERS = {ADMIN_USER: "admin", APPROVER: "user"}  # user -> SimpleAuthManager role
EMAIL = {
    ADMIN_USER: "ops@klantenscoren.test",
    APPROVER: "anna.approver@klantenscoren.test",
}


def people_variable() -> str:
    return json.dumps(
        {
            "people": {
                ADMIN_USER: {"name": "Ada Admin", "email": EMAIL[ADMIN_USER]},
                APPROVER: {"name": "Anna Approver", "email": EMAIL[APPROVER]},
                "vera": {"name": VERIFIER},
            },
            "approvers": [ADMIN_USER, APPROVER, "vera"],
            "tawk_operators": [ADMIN_USER],
            "ops": [ADMIN_USER],
            "privacy_officer": [APPROVER],
            "email_connection": "smtp_default",
        }
    )
