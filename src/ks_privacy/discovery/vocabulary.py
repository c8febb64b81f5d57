"""The names discovery shares with the policy file, without importing any detector library (the
policy is read when DAG files are parsed, which must stay cheap).

Field names are the ones the inventory reports and the policy's `fields` map uses:
- ActiveCampaign: the contact's own fields by their API name, custom fields as `custom:<title>`
  (the title shown under Settings > Fields);
- Google contacts: the People API's person fields (`phoneNumbers` covers every number);
- Tawk: the chat's `visitor.*` fields and `messages` (what was typed in the chat);
- website activity: the columns of `page_events`.
"""

from __future__ import annotations

# What the detectors find (see detectors.py). `bsn` is never keepable: it cannot be mapped or
# acknowledged in the policy.
DETECTED = ("email", "iban", "ip_address", "birth_date", "phone", "bsn", "address")
NEVER_KEPT = frozenset({"bsn"})
# The detected categories that have a statement category of the same name, so the sweep can keep
# personal data inside free text to its term.
TERM_DETECTED = frozenset({"email", "phone", "ip_address", "address"})

NONE = "none"  # a field checked and found to hold no personal data
CUSTOM_PREFIX = "custom:"

# Google People person fields the inventory reads (every field a contact can hold; photos and
# read-only profile fields left out): https://developers.google.com/people/api/rest/v1/people
GOOGLE_PERSON_FIELDS = (
    "addresses",
    "biographies",
    "birthdays",
    "calendarUrls",
    "clientData",
    "emailAddresses",
    "events",
    "externalIds",
    "genders",
    "imClients",
    "interests",
    "locales",
    "locations",
    "miscKeywords",
    "names",
    "nicknames",
    "occupations",
    "organizations",
    "phoneNumbers",
    "relations",
    "sipAddresses",
    "skills",
    "urls",
    "userDefined",
)

KNOWN_FIELDS: dict[str, frozenset[str]] = {
    "activecampaign": frozenset({"firstName", "lastName", "email", "phone", "ip"}),
    "google_contacts": frozenset(GOOGLE_PERSON_FIELDS),
    "tawk": frozenset(
        {
            "visitor.name",
            "visitor.email",
            "visitor.phone",
            "visitor.ip",
            "visitor.city",
            "visitor.country",
            "messages",
        }
    ),
    "website_activity": frozenset({"contact_email", "ip", "path", "visitor_id"}),
}


def field_problem(source: str, field: str) -> str | None:
    """Why `field` cannot be a field of `source` (None: it can)."""
    known = KNOWN_FIELDS.get(source, frozenset())
    if field in known:
        return None
    if source == "activecampaign" and field.startswith(CUSTOM_PREFIX) and field[7:].strip():
        return None
    hint = " or custom:<title> for a custom field" if source == "activecampaign" else ""
    return f"{source} has no field {field!r} (known: {', '.join(sorted(known))}{hint})"
