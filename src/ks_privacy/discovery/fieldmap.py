"""One source's field -> category map (the policy's `fields`), and what the sweep does with it:
which categories a record holds, which fields to empty when a category is due, and how free text
is redacted in place or left for a person.

A source's adapter fields as the statement lists them (`DEFAULT_FIELDS`) are always mapped; the
policy's `fields` add to them and may remap one explicitly. So an older policy file means what it
meant before, and a standard field left out of the map is never silently left out of the sweep.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ks_privacy.discovery import detectors
from ks_privacy.discovery.vocabulary import CUSTOM_PREFIX, NONE, TERM_DETECTED
from ks_privacy.policy import FreeText, SourcePolicy

DEFAULT_FIELDS: dict[str, dict[str, str]] = {
    "activecampaign": {
        "firstName": "name",
        "lastName": "name",
        "email": "email",
        "phone": "phone",
        "ip": "ip_address",
    },
    "google_contacts": {
        "names": "name",
        "emailAddresses": "email",
        "phoneNumbers": "phone",
        "addresses": "address",
        "genders": "gender",
    },
    "tawk": {
        "visitor.name": "name",
        "visitor.email": "email",
        "visitor.phone": "phone",
        "visitor.ip": "ip_address",
    },
    "website_activity": {
        "contact_email": "email",
        "ip": "ip_address",
        "visitor_id": "website_activity",
        "path": "website_activity",
    },
}


@dataclass(frozen=True)
class FreeTextResult:
    """A free-text value after redaction: the new text (None: unchanged), what was removed, and
    whether a due value had to be left for a person (`flag`)."""

    text: str | None
    removed: int = 0
    flagged: bool = False


@dataclass(frozen=True)
class FieldMap:
    source: str
    rules: Mapping[str, Any]  # field -> category | "none" | FreeText

    @classmethod
    def of(cls, source: str, policy: SourcePolicy) -> FieldMap:
        return cls(source, {**DEFAULT_FIELDS.get(source, {}), **policy.fields})

    def rule(self, field: str) -> Any:
        """The field's rule, None when the policy does not map it."""
        return self.rules.get(field)

    def is_free_text(self, field: str) -> bool:
        return isinstance(self.rules.get(field), FreeText)

    def flags(self, field: str) -> bool:
        rule = self.rules.get(field)
        return isinstance(rule, FreeText) and rule.free_text == "flag"

    def structured(self, categories: Iterable[str]) -> list[str]:
        """The fields mapped to any of these categories (emptied when one is due)."""
        wanted = set(categories)
        return [f for f, r in self.rules.items() if isinstance(r, str) and r in wanted]

    def free_text(self) -> list[str]:
        return [f for f, r in self.rules.items() if isinstance(r, FreeText)]

    def custom_fields(self) -> dict[str, Any]:
        """ActiveCampaign custom fields the map names: title -> rule (`none` ones left out)."""
        return {
            f.removeprefix(CUSTOM_PREFIX): r
            for f, r in self.rules.items()
            if f.startswith(CUSTOM_PREFIX) and r != NONE
        }

    def categories(self, pairs: Iterable[tuple[str, str]]) -> frozenset[str]:
        """What a record holds, for the sweep: a mapped field with a value holds its category;
        free text holds the statement's categories found in it. Unmapped fields count for
        nothing here: the inventory reports them."""
        found: set[str] = set()
        for field, text in pairs:
            rule = self.rules.get(field)
            if isinstance(rule, FreeText):
                found |= detectors.categories(text, field) & TERM_DETECTED
            elif isinstance(rule, str) and rule != NONE and text:
                found.add(rule)
        return frozenset(found)

    def redact_free_text(self, field: str, text: str, due: Iterable[str]) -> FreeTextResult:
        """Free text with the due categories' values replaced by a marker (`redact`), or left as
        it is and flagged for a person (`flag`)."""
        wanted = set(due) & TERM_DETECTED
        if not wanted or not self.is_free_text(field):
            return FreeTextResult(None)
        if self.flags(field):
            held = detectors.categories(text, field) & wanted
            return FreeTextResult(None, flagged=bool(held))
        redacted, removed = detectors.redact(text, wanted, field)
        return FreeTextResult(redacted if removed else None, removed)
