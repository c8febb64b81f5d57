"""What each source should report, computed straight from the sandbox's own tables (never through
the code under test): refs, categories, timestamps, legal hold, and who the records belong to."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime

from ks_privacy.pseudonym import normalise_email
from tests.fixtures.sandbox import Vendors

SOURCES = ("activecampaign", "google_contacts", "tawk", "website_activity")
LEGAL_HOLD = "legal-hold"
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
GOOGLE_CATEGORIES = {
    "names": "name",
    "emailAddresses": "email",
    "phoneNumbers": "phone",
    "addresses": "address",
    "genders": "gender",
}


@dataclass(frozen=True)
class Expected:
    ref: str
    email: str | None  # normalised
    categories: frozenset[str]
    timestamps: dict[str, datetime]
    held: bool


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _utc(value) -> datetime:
    """A page_events time as the database gives it back (text in SQLite), as aware UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_PLANTED_IN = {
    # system -> (record ref, the text the typed values live in) as the sandbox holds it now
    "activecampaign": "SELECT CAST(contact AS TEXT), group_concat(value, ' | ') "
    "FROM ac_field_values GROUP BY contact",
    "google": "SELECT 'people/' || person_id, data FROM g_people",
    "tawk": "SELECT id, messages FROM tawk_chats",
}


def planted(vendors: Vendors, system: str) -> dict[str, set[str]]:
    """ref -> the categories of the values the seed typed into its custom fields, notes or chat
    messages that are still there (all fields the default policy maps, so they count like the
    record's own fields)."""
    texts = dict(vendors.sql(_PLANTED_IN[system]))
    found: dict[str, set[str]] = defaultdict(set)
    for ref, category, value in vendors.sql(
        "SELECT record_ref, category, value FROM seed_values WHERE system = ?", system
    ):
        if value in (texts.get(ref) or ""):
            found[ref].add(category)
    return found


def activecampaign(vendors: Vendors) -> dict[str, Expected]:
    held = {
        r[0]
        for r in vendors.sql(
            "SELECT ct.contact FROM ac_contact_tags ct JOIN ac_tags t ON t.id = ct.tag "
            "WHERE t.tag = ?",
            LEGAL_HOLD,
        )
    }
    out = {}
    typed = planted(vendors, "activecampaign")
    for cid, email, first, last, phone, ip, cdate, udate in vendors.sql(
        "SELECT id, email, first_name, last_name, phone, ip, cdate, udate FROM ac_contacts"
    ):
        categories = {"email"} if email.strip() else set()
        if first.strip() or last.strip():
            categories.add("name")
        if phone.strip():
            categories.add("phone")
        if ip:
            categories.add("ip_address")
        categories |= typed[str(cid)]
        out[str(cid)] = Expected(
            str(cid),
            normalise_email(email),
            frozenset(categories),
            {"created": from_ms(cdate), "updated": from_ms(udate)},
            cid in held,
        )
    return out


def google_contacts(vendors: Vendors) -> dict[str, Expected]:
    held = {
        r[0]
        for r in vendors.sql(
            "SELECT m.person FROM g_memberships m JOIN g_groups g ON g.id = m.group_id "
            "WHERE g.name = ?",
            LEGAL_HOLD,
        )
    }
    out = {}
    typed = planted(vendors, "google")
    for pk, person_id, update_time, data in vendors.sql(
        "SELECT id, person_id, update_time, data FROM g_people"
    ):
        person = json.loads(data)
        ref = f"people/{person_id}"
        emails = person.get("emailAddresses") or [{}]
        categories = {c for field, c in GOOGLE_CATEGORIES.items() if person.get(field)}
        out[ref] = Expected(
            ref,
            normalise_email(emails[0].get("value", "")) or None,
            frozenset(categories | typed[ref]),
            {"updated": from_ms(update_time)},
            pk in held,
        )
    return out


def tawk(vendors: Vendors) -> dict[str, Expected]:
    out = {}
    typed = planted(vendors, "tawk")
    for chat_id, created, last, name, email, phone, ip in vendors.sql(
        "SELECT id, created_on, last_message_on, visitor_name, visitor_email, visitor_phone, "
        "visitor_ip FROM tawk_chats"
    ):
        values = {"name": name, "email": email, "phone": phone, "ip_address": ip}
        categories = {c for c, v in values.items() if (v or "").strip()}
        out[chat_id] = Expected(
            chat_id,
            normalise_email(email) if email else None,
            frozenset(categories | typed[chat_id]),
            {"created": from_ms(created), "last_message": from_ms(last)},
            False,  # Tawk has no legal-hold mark (the policy names none)
        )
    return out


def website_activity(vendors: Vendors) -> dict[str, Expected]:
    days: dict[date, list[tuple[datetime, str]]] = defaultdict(list)
    for occurred, ip in vendors.website_sql("SELECT occurred_at, ip FROM page_events"):
        when = _utc(occurred)
        days[when.date()].append((when, ip))
    out = {}
    for day, events in days.items():
        categories = {"website_activity"} | (
            {"ip_address"} if any(ip for _, ip in events) else set()
        )
        ref = f"day:{day.isoformat()}"
        out[ref] = Expected(
            ref, None, frozenset(categories), {"occurred": max(t for t, _ in events)}, False
        )
    return out


EXPECTED = {
    "activecampaign": activecampaign,
    "google_contacts": google_contacts,
    "tawk": tawk,
    "website_activity": website_activity,
}


def expected(vendors: Vendors, source: str) -> dict[str, Expected]:
    return EXPECTED[source](vendors)


# ---- people ------------------------------------------------------------------------------------


def person_refs(vendors: Vendors, source: str, email: str) -> set[str]:
    """The refs `find(email)` must return: records of exactly this normalised address."""
    wanted = normalise_email(email)
    if source == "website_activity":
        rows = vendors.website_sql(
            "SELECT DISTINCT visitor_id, contact_email FROM page_events "
            "WHERE contact_email IS NOT NULL"
        )
        return {f"visitor:{v}" for v, e in rows if normalise_email(e) == wanted}
    if source == "google_contacts":
        refs = set()
        for person_id, data in vendors.sql("SELECT person_id, data FROM g_people"):
            values = {
                normalise_email(e.get("value", ""))
                for e in json.loads(data).get("emailAddresses") or []
            }
            if wanted in values:
                refs.add(f"people/{person_id}")
        return refs
    return {ref for ref, e in expected(vendors, source).items() if e.email == wanted}


def stored_emails(vendors: Vendors, source: str) -> list[tuple[str, str]]:
    """(normalised, as stored) e-mail of every seeded person present in the source."""
    column = {
        "activecampaign": "ac_email",
        "google_contacts": "google_email",
        "tawk": "tawk_email",
    }.get(source)
    if column is None:
        rows = vendors.website_sql(
            "SELECT DISTINCT contact_email FROM page_events WHERE contact_email IS NOT NULL "
            "ORDER BY contact_email"
        )
        return [(normalise_email(r[0]), r[0]) for r in rows]
    return vendors.sql(
        f"SELECT email, {column} FROM seed_people WHERE {column} IS NOT NULL ORDER BY person_id"
    )


def emails_in(value) -> set[str]:
    """Every e-mail address in a JSON-able value, normalised."""
    return {normalise_email(m) for m in EMAIL.findall(json.dumps(value, default=str))}
