"""ActiveCampaign custom fields, through the fieldValues API: which categories a contact's mapped
custom fields hold, emptying or redacting them when a category is due, rectifying and exporting
them, and every value of every custom field for the inventory.

Custom fields are named by their title (`custom:<title>` in the policy's `fields`). A contact's
values are not part of the contact list, so a scan reads each mapped field's values over all
contacts (100 a call: `filters[fieldid]`), and single contacts are read through
`/contacts/{id}/fieldValues`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from functools import cached_property

from ks_privacy.discovery.fieldmap import FieldMap
from ks_privacy.discovery.walk import custom_field
from ks_privacy.hooks.activecampaign import ActiveCampaignHook


class CustomFieldValues:
    def __init__(self, hook: ActiveCampaignHook, fields: FieldMap):
        self.hook = hook
        self.fields = fields

    @cached_property
    def titles(self) -> dict[str, str]:
        """Field id -> title, of every custom field the account has (one call per 100)."""
        return self.hook.field_titles()

    @cached_property
    def mapped(self) -> dict[str, str]:
        """Field id -> field name (`custom:<title>`) of the custom fields the policy maps to a
        category or to free text. A mapped title the account does not have maps nothing."""
        wanted = self.fields.custom_fields()
        if not wanted:
            return {}
        return {fid: custom_field(t) for fid, t in self.titles.items() if t in wanted}

    def categories_by_contact(self) -> dict[str, frozenset[str]]:
        """Contact id -> the categories its mapped custom fields hold, for every contact that
        has any. Only categories are kept, never values."""
        found: dict[str, set[str]] = defaultdict(set)
        for field_id, name in self.mapped.items():
            for value in self.hook.iter_field_values(field_id):
                categories = self.fields.categories([(name, value.get("value") or "")])
                if categories:
                    found[str(value["contact"])] |= categories
        return {contact: frozenset(c) for contact, c in found.items()}

    def _values(self, contact_id: str) -> list[tuple[str, dict]]:
        """(field name, value record) of one contact's mapped fields."""
        if not self.mapped:
            return []
        return [
            (self.mapped[str(v["field"])], v)
            for v in self.hook.contact_field_values(contact_id)
            if str(v.get("field")) in self.mapped
        ]

    def categories_of(self, contact_id: str) -> frozenset[str]:
        pairs = [(name, v.get("value") or "") for name, v in self._values(contact_id)]
        return self.fields.categories(pairs)

    def redact(self, contact_id: str, due: set[str]) -> list[str]:
        """Empty the mapped fields of the due categories (the value is deleted) and redact due
        values inside free text in place. Returns the free-text fields a person must see
        (`flag`). Raises VendorNotFound when the contact is gone."""
        flagged = []
        for name, value in self._values(contact_id):
            text, rule = value.get("value") or "", self.fields.rule(name)
            if isinstance(rule, str) and rule in due:
                if text:
                    self.hook.delete_field_value(str(value["id"]))
                continue
            result = self.fields.redact_free_text(name, text, due)
            if result.text is not None:
                self.hook.update_field_value(value, result.text)
            if result.flagged:
                flagged.append(name)
        return flagged

    def rectify(self, contact_id: str, category: str, new_value: str) -> bool:
        """Give the contact's mapped fields of `category` that hold a value the new one (an old
        value kept in a second field would still be the wrong one). True if any changed."""
        changed = False
        for name, value in self._values(contact_id):
            if self.fields.rule(name) == category and (value.get("value") or "").strip():
                self.hook.update_field_value(value, new_value)
                changed = True
        return changed

    def export(self, contact_id: str) -> list[dict[str, str]]:
        """Every custom field value of the contact, with the field's title (for a person to
        read: an access export)."""
        titles = self.titles
        return [
            {"field": titles.get(str(v.get("field")), str(v.get("field"))), "value": v["value"]}
            for v in self.hook.contact_field_values(contact_id)
            if v.get("value")
        ]

    def every_value(self) -> Iterator[tuple[str, str, str]]:
        """(contact id, field name, value) of every custom field, mapped or not (the
        inventory must also see the fields nobody mapped)."""
        for field_id, title in self.titles.items():
            name = custom_field(title)
            for value in self.hook.iter_field_values(field_id):
                if text := (value.get("value") or "").strip():
                    yield str(value["contact"]), name, text
