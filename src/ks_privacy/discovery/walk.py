"""A vendor record's fields as (field, text) pairs, under the names the policy's `fields` map and
the inventory use (see vocabulary.py). Pure functions: the sources fetch, these only read.

A field with several items (Google's `phoneNumbers`, Tawk's `messages`) gives one pair per
item, so every phone number of a contact is seen, not only the first.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from typing import Any

from ks_privacy.discovery.vocabulary import CUSTOM_PREFIX, GOOGLE_PERSON_FIELDS

Pair = tuple[str, str]

AC_CONTACT_FIELDS = ("firstName", "lastName", "email", "phone")
TAWK_VISITOR_FIELDS = ("name", "email", "phone", "ip", "city", "country")
# Item properties that describe a value rather than hold it.
_NOT_VALUES = frozenset(
    {
        "metadata",
        "type",
        "formattedType",
        "contentType",
        "canonicalForm",
        "formattedProtocol",
        "protocol",
        "current",
        "countryCode",
        "displayNameLastFirst",
        "unstructuredName",
        "phoneticFullName",
    }
)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def ac_ip_text(value: Any) -> str:
    """ActiveCampaign keeps an IPv4 address as an integer string ("2130706433": 127.0.0.1)."""
    text = _text(value)
    if not text or text == "0":
        return ""
    try:
        return str(ipaddress.ip_address(int(text)))
    except ValueError:
        return text


def activecampaign_contact(contact: Mapping[str, Any]) -> Iterator[Pair]:
    """The contact's own fields (custom fields come from the fieldValues API: `custom_field`)."""
    for name in AC_CONTACT_FIELDS:
        if text := _text(contact.get(name)):
            yield name, text
    if ip := ac_ip_text(contact.get("ip")):
        yield "ip", ip


def custom_field(title: str) -> str:
    return f"{CUSTOM_PREFIX}{title}"


def _date_text(value: Mapping[str, Any]) -> str:
    """A People API Date ({year?, month, day}) as ISO 8601 (`--MM-DD` without a year)."""
    month, day = int(value.get("month") or 0), int(value.get("day") or 0)
    if not month or not day:
        return _text(value.get("year"))
    if value.get("year"):
        return f"{int(value['year']):04d}-{month:02d}-{day:02d}"
    return f"--{month:02d}-{day:02d}"


def google_item_text(field: str, item: Any) -> str:
    """One item of a person field as text: its value(s), without type labels and metadata."""
    if not isinstance(item, Mapping):
        return _text(item)
    if field == "addresses" and item.get("formattedValue"):
        return _text(item["formattedValue"])
    parts = []
    for key, value in item.items():
        if key in _NOT_VALUES or isinstance(value, bool):
            continue
        if isinstance(value, Mapping) and {"month", "day"} & set(value):
            parts.append(_date_text(value))
        elif isinstance(value, str | int):
            parts.append(_text(value))
    return "\n".join(p for p in dict.fromkeys(parts) if p)


def google_person(person: Mapping[str, Any]) -> Iterator[Pair]:
    for field in GOOGLE_PERSON_FIELDS:
        for item in person.get(field) or []:
            if text := google_item_text(field, item):
                yield field, text


def tawk_chat(chat: Mapping[str, Any]) -> Iterator[Pair]:
    """The visitor's fields, and every message typed in the chat (when the chat was read with
    its messages: `chat.get`; `chat.list` leaves them out)."""
    visitor = chat.get("visitor") or {}
    for name in TAWK_VISITOR_FIELDS:
        if text := _text(visitor.get(name)):
            yield f"visitor.{name}", text
    for message in chat.get("messages") or []:
        if isinstance(message, Mapping) and (text := _text(message.get("msg"))):
            yield "messages", text


WEBSITE_FIELDS = ("contact_email", "ip", "visitor_id", "path")


def website_event(row: Mapping[str, Any]) -> Iterator[Pair]:
    for name in WEBSITE_FIELDS:
        if text := _text(row.get(name)):
            yield name, text
