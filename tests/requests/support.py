"""What the request tests share: people from the seed, what the vendors hold, the register and
evidence as the audit database has them, and registering a request the way ops do (through
ks_privacy.registration, as the CLI and the Privacy requests page do) before triggering its run with
nothing but the reference."""

from __future__ import annotations

import json

import sqlalchemy as sa

from ks_privacy.audit_db import engine_for_url
from ks_privacy.evidence import AuditTrail, RunContext
from ks_privacy.policy import load_policy
from ks_privacy.pseudonym import Pseudonymiser
from ks_privacy.registration import Registration, register_request
from tests.fixtures.sandbox import PSEUDONYM_KEY

APPROVE = {"approve": ("Approve", None)}
REJECT = {"approve": ("Reject", None)}
RECEIVED = "2026-11-20"


def person_everywhere(vendors, held: int = 0, skip: int = 0) -> dict:
    row = vendors.sql(
        "SELECT person_id, email, ac_id, google_resource, tawk_chat_ids FROM seed_people "
        "WHERE systems = 'activecampaign,google,tawk' AND held = ? AND person_id > 18 "
        "ORDER BY person_id LIMIT 1 OFFSET ?",
        held,
        skip,
    )[0]
    return {
        "id": row[0],
        "email": row[1],
        "ac_id": row[2],
        "google": row[3],
        "chats": json.loads(row[4] or "[]"),
    }


def fields(email: str, ref: str = "REQ-2026-0001", **extra) -> dict:
    """A registration form, filled in as ops would."""
    return {
        "subject_email": email,
        "request_ref": ref,
        "received_on": RECEIVED,
        "identity_verified": True,
        "identity_verified_by": "Vera Verifier",  # not Olga, who approves (four eyes)
        **extra,
    }


def register(vendors, kind: str, email: str, ref: str, **extra) -> Registration:
    trail = AuditTrail(engine_for_url(vendors.audit_url), RunContext(task_id="request register"))
    return register_request(
        trail, Pseudonymiser(PSEUDONYM_KEY), load_policy(), kind, fields(email, ref, **extra)
    )


def registered(vendors, email: str, ref: str, kind: str = "erasure", **extra) -> dict:
    """Register the request, and return what its run is triggered with: the reference only."""
    dry_run = extra.pop("dry_run", False)
    register(vendors, kind, email, ref, **extra)
    return {"request_ref": ref, "dry_run": dry_run}


def holdings(vendors, person: dict) -> dict:
    ids = ",".join("?" * len(person["chats"])) or "''"
    return {
        "activecampaign": vendors.sql(
            "SELECT count(*) FROM ac_contacts WHERE id = ?", person["ac_id"]
        )[0][0],
        "google": vendors.sql(
            "SELECT count(*) FROM g_people WHERE 'people/' || person_id = ?", person["google"]
        )[0][0],
        "tawk": vendors.sql(
            f"SELECT count(*) FROM tawk_chats WHERE id IN ({ids})", *person["chats"]
        )[0][0],
        "website": vendors.website_sql(
            "SELECT count(*) FROM page_events WHERE lower(trim(contact_email)) = :e",
            e=person["email"],
        )[0][0],
    }


def totals(vendors) -> dict:
    return {
        "ac": vendors.sql("SELECT count(*) FROM ac_contacts")[0][0],
        "google": vendors.sql("SELECT count(*) FROM g_people")[0][0],
        "tawk": vendors.sql("SELECT count(*) FROM tawk_chats")[0][0],
    }


def audit_rows(vendors, query: str, **params) -> list[dict]:
    engine = sa.create_engine(vendors.audit_url)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.text(query), params).mappings()]
    finally:
        engine.dispose()


def register_row(vendors, ref: str) -> dict | None:
    rows = audit_rows(vendors, "SELECT * FROM ks_requests WHERE request_ref = :r", r=ref)
    return rows[0] if rows else None


def evidence(vendors, event: str, ref: str | None = None) -> list[dict]:
    query = "SELECT * FROM ks_evidence WHERE event = :e"
    if ref is not None:
        query += " AND record_ref = :r"
    rows = audit_rows(vendors, query + " ORDER BY seq", e=event, r=ref)
    for row in rows:
        row["details"] = json.loads(row["details"])
    return rows


def vault_rows(vendors, ref: str) -> int:
    return sum(
        audit_rows(vendors, f"SELECT count(*) AS n FROM {table} WHERE request_ref = :r", r=ref)[0][
            "n"
        ]
        for table in ("ks_request_vault", "ks_request_keys")
    )
