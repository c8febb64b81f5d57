"""What an inventory of the seeded sandbox must count, from the sandbox's own tables and the seed's
record of every value it typed into custom fields, notes and chat messages (`seed_values`), never
through the code under test: (source, field, category) -> values holding it."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path

SYSTEM_SOURCE = {"activecampaign": "activecampaign", "google": "google_contacts", "tawk": "tawk"}
GOOGLE_LISTS = {"emailAddresses": "email", "phoneNumbers": "phone", "addresses": "address"}


def expected_counts(vendors) -> Counter:
    counts: Counter = Counter()
    for email, phone, ip in vendors.sql("SELECT email, phone, ip FROM ac_contacts"):
        counts["activecampaign", "email", "email"] += bool(email.strip())
        counts["activecampaign", "phone", "phone"] += bool(phone.strip())
        counts["activecampaign", "ip", "ip_address"] += ip > 0
    for (data,) in vendors.sql("SELECT data FROM g_people"):
        person = json.loads(data)
        for field, category in GOOGLE_LISTS.items():
            counts["google_contacts", field, category] += len(person.get(field) or [])
    for email, phone, ip in vendors.sql(
        "SELECT visitor_email, visitor_phone, visitor_ip FROM tawk_chats"
    ):
        counts["tawk", "visitor.email", "email"] += bool((email or "").strip())
        counts["tawk", "visitor.phone", "phone"] += bool((phone or "").strip())
        counts["tawk", "visitor.ip", "ip_address"] += bool((ip or "").strip())
    for email, ip in vendors.website_sql("SELECT contact_email, ip FROM page_events"):
        counts["website_activity", "contact_email", "email"] += bool((email or "").strip())
        counts["website_activity", "ip", "ip_address"] += bool((ip or "").strip())
    for system, field, category, n in vendors.sql(
        "SELECT system, field, category, count(*) FROM seed_values GROUP BY 1, 2, 3"
    ):
        counts[SYSTEM_SOURCE[system], field, category] += n
    return +counts  # zero counts dropped


def records(vendors) -> dict[str, int]:
    days = {str(w)[:10] for (w,) in vendors.website_sql("SELECT occurred_at FROM page_events")}
    return {
        "activecampaign": vendors.sql("SELECT count(*) FROM ac_contacts")[0][0],
        "google_contacts": vendors.sql("SELECT count(*) FROM g_people")[0][0],
        "tawk": vendors.sql("SELECT count(*) FROM tawk_chats")[0][0],
        "website_activity": len(days),
    }


def write(db_path: Path, statement: str, *args) -> None:
    """Change the sandbox's data directly, as a person working in the vendor's UI would."""
    with sqlite3.connect(db_path) as conn:
        conn.execute(statement, args)
