"""Google People API v1 shapes: Person and error JSON, field masks, etags and page tokens,
as the discovery document (people.v1.json) and the reference pages describe them."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from sandbox.clock import rfc3339_utc
from sandbox.http import HttpError, Request, Response

DOCS = "https://developers.google.com/people/api/rest/v1"

# people.get / connections.list `personFields` (discovery doc, "Valid values are: ...").
PERSON_FIELDS = frozenset(
    [
        "addresses",
        "ageRanges",
        "biographies",
        "birthdays",
        "calendarUrls",
        "clientData",
        "coverPhotos",
        "emailAddresses",
        "events",
        "externalIds",
        "genders",
        "imClients",
        "interests",
        "locales",
        "locations",
        "memberships",
        "metadata",
        "miscKeywords",
        "names",
        "nicknames",
        "occupations",
        "organizations",
        "phoneNumbers",
        "photos",
        "relations",
        "sipAddresses",
        "skills",
        "urls",
        "userDefined",
    ]
)
# people.updateContact `updatePersonFields` (discovery doc).
UPDATE_FIELDS = frozenset(
    [
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
        "memberships",
        "miscKeywords",
        "names",
        "nicknames",
        "occupations",
        "organizations",
        "phoneNumbers",
        "relations",
        "sipAddresses",
        "urls",
        "userDefined",
    ]
)
# "This field is a singleton for contact sources" (Person schema).
SINGLETONS = frozenset({"biographies", "birthdays", "genders", "names"})
# Output-only properties that a client may echo back in an update body; not stored.
OUTPUT_ONLY = frozenset(
    {
        "metadata",
        "formattedType",
        "canonicalForm",
        "displayName",
        "displayNameLastFirst",
        "formattedValue",
        "contactGroupId",
    }
)
SORT_ORDERS = {
    "LAST_MODIFIED_ASCENDING": ("update_time", "ASC"),
    "LAST_MODIFIED_DESCENDING": ("update_time", "DESC"),
    "FIRST_NAME_ASCENDING": ("given_name", "ASC"),
    "LAST_NAME_ASCENDING": ("family_name", "ASC"),
}
GROUP_FIELDS = frozenset({"clientData", "groupType", "memberCount", "metadata", "name"})
DEFAULT_GROUP_FIELDS = frozenset({"metadata", "groupType", "memberCount", "name"})
MY_CONTACTS = "myContacts"
LEGAL_HOLD_GROUP = "legal-hold"
_TYPE_LABELS = {
    "home": "Home",
    "work": "Work",
    "other": "Other",
    "mobile": "Mobile",
    "main": "Main",
}
_GENDER_LABELS = {"male": "Male", "female": "Female", "unspecified": "Unspecified"}


def google_error(code: int, status: str, message: str) -> Response:
    return Response(code, {"error": {"code": code, "message": message, "status": status}})


def bad_request(message: str) -> HttpError:
    return HttpError(google_error(400, "INVALID_ARGUMENT", message))


def make_etag(kind: str, key: str, version: int) -> str:
    digest = hashlib.sha256(f"{kind}:{key}:{version}".encode()).digest()[:12]
    return ("%" if kind == "person" else "#") + base64.b64encode(b"\x12\x04" + digest).decode()


def source_id(person_id: str) -> str:
    """A contact's source id is the hex form of the number in its resource name."""
    return format(int(person_id[1:]), "x")


def field_mask(value: str | None, valid: frozenset[str], name: str, *, required: bool) -> set[str]:
    if not value:
        if required:
            raise bad_request(
                f"{name} mask is required. Please specify one or more valid paths. "
                f"Valid paths are documented at {DOCS}/people/get."
            )
        return set()
    paths = {p.strip() for p in value.split(",") if p.strip()}
    if name == "requestMask.includeField":
        paths = {p.removeprefix("person.") for p in paths}
    for path in paths:
        if path not in valid:
            raise bad_request(
                f'Invalid {name} mask path: "{path}". Valid paths are documented at '
                f"{DOCS}/people/get."
            )
    return paths


def person_mask(req: Request, *, required: bool = True) -> set[str]:
    """`personFields`, or the older `requestMask.includeField` ("person.names,...")."""
    if req.arg("personFields"):
        return field_mask(req.arg("personFields"), PERSON_FIELDS, "personFields", required=True)
    if req.arg("requestMask.includeField"):
        return field_mask(
            req.arg("requestMask.includeField"),
            PERSON_FIELDS,
            "requestMask.includeField",
            required=True,
        )
    if required:
        return field_mask(None, PERSON_FIELDS, "personFields", required=True)
    return set(PERSON_FIELDS)


def page_token(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def read_page_token(token: str) -> dict[str, Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        if not isinstance(data, dict):
            raise ValueError
        return data
    except ValueError as exc:
        raise bad_request("Page token is not valid.") from exc


def strip_output_only(value: Any) -> Any:
    """An update body item as stored: output-only properties dropped."""
    if isinstance(value, dict):
        return {k: strip_output_only(v) for k, v in value.items() if k not in OUTPUT_ONLY}
    if isinstance(value, list):
        return [strip_output_only(v) for v in value]
    return value


def _canonical_phone(value: str) -> str | None:
    digits = "".join(ch for ch in value if ch.isdigit() or ch == "+")
    if digits.startswith("+"):
        return "+" + digits[1:].replace("+", "")
    digits = digits.replace("+", "")
    if digits.startswith("0031"):
        return "+" + digits[2:]
    if digits.startswith("0") and len(digits) == 10:
        return "+31" + digits[1:]
    return None


def render_person(row: tuple, fields: set[str], groups: list[str] | None) -> dict[str, Any]:
    """A Person with only the requested fields (resourceName and etag always)."""
    _pk, person_id, version, update_time, _given, _family, data_json = row
    data = json.loads(data_json)
    src = {"type": "CONTACT", "id": source_id(person_id)}
    person: dict[str, Any] = {
        "resourceName": f"people/{person_id}",
        "etag": make_etag("person", person_id, version),
    }
    if "metadata" in fields:
        person["metadata"] = {
            "sources": [
                {
                    **src,
                    "etag": make_etag("source", person_id, version),
                    "updateTime": rfc3339_utc(update_time),
                }
            ],
            "objectType": "PERSON",
        }
    for name in sorted(fields - {"metadata", "memberships"}):
        items = data.get(name)
        if not items:
            continue
        person[name] = [_decorate(name, item, src, i == 0) for i, item in enumerate(items)]
    if "memberships" in fields:
        person["memberships"] = [
            {
                "metadata": {"source": src},
                "contactGroupMembership": {
                    "contactGroupId": group,
                    "contactGroupResourceName": f"contactGroups/{group}",
                },
            }
            for group in [*(groups or []), MY_CONTACTS]
        ]
    return person


def _decorate(name: str, item: dict[str, Any], src: dict[str, str], first: bool) -> dict:
    out = dict(item)
    out["metadata"] = (
        {"primary": True, "source": src, "sourcePrimary": True} if first else {"source": src}
    )
    if name == "names":
        given, family = item.get("givenName", ""), item.get("familyName", "")
        middle = item.get("middleName", "")
        full = " ".join(p for p in (given, middle, family) if p)
        out.setdefault("displayName", full)
        out.setdefault("displayNameLastFirst", ", ".join(p for p in (family, given) if p))
        out.setdefault("unstructuredName", full)
    elif name in (
        "emailAddresses",
        "phoneNumbers",
        "addresses",
        "urls",
        "organizations",
    ) and item.get("type"):
        out["formattedType"] = _TYPE_LABELS.get(item["type"], item["type"])
    if name == "phoneNumbers" and item.get("value"):
        canonical = _canonical_phone(item["value"])
        if canonical:
            out["canonicalForm"] = canonical
    if name == "addresses" and "formattedValue" not in item:
        parts = [
            item.get("streetAddress", ""),
            " ".join(p for p in (item.get("postalCode", ""), item.get("city", "")) if p),
            item.get("country", ""),
        ]
        out["formattedValue"] = "\n".join(p for p in parts if p)
    if name == "genders" and item.get("value"):
        out["formattedValue"] = _GENDER_LABELS.get(item["value"], item["value"])
    return out


def profile(subject: str, fields: set[str]) -> dict[str, Any]:
    """people/me: the delegated user's own profile (not a contact)."""
    number = int(hashlib.sha256(subject.encode()).hexdigest()[:15], 16)
    person: dict[str, Any] = {
        "resourceName": f"people/{number}",
        "etag": make_etag("person", subject, 1),
    }
    src = {"type": "PROFILE", "id": str(number)}
    local = subject.split("@")[0]
    if "names" in fields:
        person["names"] = [
            {
                "metadata": {"primary": True, "source": src},
                "displayName": local,
                "unstructuredName": local,
            }
        ]
    if "emailAddresses" in fields:
        person["emailAddresses"] = [
            {"metadata": {"primary": True, "source": src}, "value": subject}
        ]
    if "metadata" in fields:
        person["metadata"] = {"sources": [src], "objectType": "PERSON"}
    return person
