"""ActiveCampaign custom fields, through the fieldValues API: which categories a contact's mapped
custom fields hold, emptying or redacting them when a category is due, rectifying and exporting
them, and every value of every custom field for the inventory.

Custom fields are named by their title (`custom:<title>` in the policy's `fields`). A contact's
values are not part of the contact list, so a scan reads each mapped field's values over all
contacts (100 a call: `filters[fieldid]`). A redaction needs no read of its own: the contact's
PUT answers with its values. A read-back takes whichever is fewer calls: each mapped field's
values over all contacts, or each contact's values (`/contacts/{id}/fieldValues`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from functools import cached_property
from math import ceil

from ks_privacy.discovery.fieldmap import FieldMap
from ks_privacy.discovery.walk import custom_field
from ks_privacy.hooks.activecampaign import PAGE_SIZE, ActiveCampaignHook, VendorNotFound


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

    def _mapped_values(self, values: Sequence[dict]) -> list[tuple[str, dict]]:
        """(field name, value record) of the mapped fields among a contact's values."""
        return [
            (self.mapped[str(v["field"])], v) for v in values if str(v.get("field")) in self.mapped
        ]

    def _values(self, contact_id: str) -> list[tuple[str, dict]]:
        if not self.mapped:
            return []
        return self._mapped_values(self.hook.contact_field_values(contact_id))

    def categories_of(self, contact_id: str) -> frozenset[str]:
        pairs = [(name, v.get("value") or "") for name, v in self._values(contact_id)]
        return self.fields.categories(pairs)

    @cached_property
    def _walk_calls(self) -> int:
        """Calls to read every mapped field's values over all contacts (counted once)."""
        return sum(ceil(self.hook.count_field_values(f) / PAGE_SIZE) for f in self.mapped)

    def categories_for(self, contact_ids: Sequence[str]) -> dict[str, frozenset[str] | None]:
        """The categories of each contact's mapped fields (None: the contact is gone), in the
        fewer calls: every mapped field's values, or each contact's own."""
        if not contact_ids or not self.mapped or self._walk_calls == 0:
            return dict.fromkeys(contact_ids, frozenset())  # no mapped field holds a value
        if self._walk_calls < len(contact_ids):
            found = self.categories_by_contact()
            return {c: found.get(c, frozenset()) for c in contact_ids}
        result: dict[str, frozenset[str] | None] = {}
        for contact in contact_ids:
            try:
                result[contact] = self.categories_of(contact)
            except VendorNotFound:
                result[contact] = None
        return result

    def redact(self, due: set[str], values: Sequence[dict]) -> tuple[list[str], dict | None]:
        """Empty the contact's mapped fields of the due categories and redact due values inside
        free text in place, given its values as its PUT answered them. Returns the free-text
        fields a person must see (`flag`), and the contact after the last write (None: no
        write; its `udate` is the clock after our writes)."""
        flagged, after = [], None
        for name, value in self._mapped_values(values):
            text, rule = value.get("value") or "", self.fields.rule(name)
            if isinstance(rule, str) and rule in due:
                if text:
                    after = self.hook.update_field_value(value, "")
                continue
            result = self.fields.redact_free_text(name, text, due)
            if result.text is not None:
                after = self.hook.update_field_value(value, result.text)
            if result.flagged:
                flagged.append(name)
        return flagged, after

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
