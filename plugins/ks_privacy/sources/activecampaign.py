"""ActiveCampaign as a source: contacts with name, phone, e-mail and IP (as the statement lists).

Legal hold is a tag (policy `legal_hold.tag`). The clock: `cdate` (created), `udate` (updated)
and `adate` (last activity), whichever is latest.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping, Sequence
from datetime import timedelta
from typing import Any

from ks_privacy.hooks._http import VendorError, VendorNotFound
from ks_privacy.hooks.activecampaign import ActiveCampaignHook
from ks_privacy.policy import SourcePolicy
from ks_privacy.pseudonym import normalise_email
from ks_privacy.sources.base import ActionResult, Outcome, ScanWindow, SourceRecord
from ks_privacy.timeutil import parse_timestamp

# Category -> the contact fields that hold it and the value that empties them.
REDACTABLE = {"phone": {"phone": ""}, "name": {"firstName": "", "lastName": ""}}
RECTIFIABLE = {
    "first_name": "firstName",
    "last_name": "lastName",
    "phone": "phone",
    "email": "email",
}
RELATIONS = ("contactTags", "contactLists", "fieldValues", "trackingLogs", "geoIps")
# `filters[updated_before]` takes a date in the account's time zone: ask for two days more than
# the cutoff and let the policy decide exactly. Over-reading is safe, under-reading is not.
DATE_FILTER_MARGIN = timedelta(days=2)


def categories_of(contact: Mapping[str, Any]) -> frozenset[str]:
    present = set()
    if (contact.get("firstName") or "").strip() or (contact.get("lastName") or "").strip():
        present.add("name")
    if (contact.get("phone") or "").strip():
        present.add("phone")
    if (contact.get("email") or "").strip():
        present.add("email")
    if str(contact.get("ip") or "0") not in ("0", ""):
        present.add("ip_address")
    return frozenset(present)


def ip_text(value: str | None) -> str | None:
    """AC stores IPv4 addresses as an integer string ("2130706433" is 127.0.0.1)."""
    if not value or str(value) == "0":
        return None
    try:
        return str(ipaddress.ip_address(int(value)))
    except ValueError:
        return str(value)


class ActiveCampaignSource:
    name = "activecampaign"
    manual_erasure = False
    erase_batch_size = 25  # no bulk delete in the API: this only sets how often evidence is flushed

    def __init__(self, policy: SourcePolicy, hook: ActiveCampaignHook | None = None):
        self.policy = policy
        self.hook = hook or ActiveCampaignHook(policy.connection)

    # ---- reading ----------------------------------------------------------------------------

    def _held_ids(self) -> frozenset[str]:
        tag = self.policy.legal_hold.tag
        tag_id = self.hook.tag_id(tag) if tag else None
        if tag_id is None:
            return frozenset()
        return frozenset(str(c["id"]) for c in self.hook.iter_contacts(tag_id=tag_id))

    def _record(self, contact: Mapping[str, Any], held: frozenset[str]) -> SourceRecord:
        updated = parse_timestamp(contact.get("udate"))
        return SourceRecord(
            ref=str(contact["id"]),
            email=contact.get("email"),
            categories=categories_of(contact),
            timestamps={
                "created": parse_timestamp(contact.get("cdate")),
                "updated": updated,
                "engaged": parse_timestamp(contact.get("adate")),
            },
            held=str(contact["id"]) in held,
            vendor_stamp=updated,
        )

    def total(self) -> int:
        return self.hook.count_contacts()

    def scan(self, window: ScanWindow) -> Iterator[SourceRecord]:
        held = self._held_ids()
        if window.full:
            for contact in self.hook.iter_contacts():
                yield self._record(contact, held)
            return
        before = (window.cutoff + DATE_FILTER_MARGIN).date()
        pending = set(window.extra_refs)
        for contact in self.hook.iter_contacts(updated_before=before):
            pending.discard(str(contact["id"]))
            yield self._record(contact, held)
        for contact in self.hook.get_contacts(sorted(pending, key=int)):
            yield self._record(contact, held)

    def find(self, email: str) -> list[SourceRecord]:
        """The `email` filter is exact (not `search`, a substring match), asked with the
        normalised address (a stray space would match nothing), and checked again here."""
        wanted = normalise_email(email)
        if not wanted:
            return []
        matches = [
            c
            for c in self.hook.contacts_with_email(wanted)
            if normalise_email(c.get("email") or "") == wanted
        ]
        held = self._held_ids() if matches else frozenset()
        return [self._record(c, held) for c in matches]

    def present(self, refs: Sequence[str]) -> dict[str, frozenset[str] | None]:
        found = {str(c["id"]): categories_of(c) for c in self.hook.get_contacts(list(refs))}
        return {ref: found.get(ref) for ref in refs}

    def export(self, email: str) -> dict[str, Any]:
        contacts = []
        for record in self.find(email):
            try:
                full = self.hook.get_contact(record.ref)
            except VendorNotFound:
                continue
            contact = {k: v for k, v in full.get("contact", {}).items() if k != "links"}
            contact["ip_text"] = ip_text(contact.get("ip"))
            related = {
                relation: [
                    {k: v for k, v in item.items() if k != "links"}
                    for item in self.hook.related(record.ref, relation)
                ]
                for relation in RELATIONS
            }
            contacts.append({"contact": contact, **related})
        return {"contacts": contacts}

    # ---- writing ----------------------------------------------------------------------------

    def erase(self, refs: Sequence[str]) -> list[ActionResult]:
        results = []
        for ref in refs:  # the API has no bulk delete: one DELETE per contact
            try:
                deleted = self.hook.delete_contact(ref)
            except VendorError as exc:
                if exc.status is None or exc.status >= 500 or exc.status in (401, 403, 429):
                    raise  # the account or the service is in trouble: stop, retry the task
                results.append(ActionResult(ref, Outcome.FAILED, {"http_status": exc.status}))
                continue
            outcome = Outcome.ERASED if deleted else Outcome.ALREADY_ABSENT
            results.append(ActionResult(ref, outcome, {"http_status": 200 if deleted else 404}))
        return results

    def redact(self, ref: str, categories: Sequence[str]) -> ActionResult:
        unsupported = [c for c in categories if c not in REDACTABLE]
        if unsupported:
            return ActionResult(
                ref,
                Outcome.FAILED,
                {"reason": f"no API field to empty for {','.join(unsupported)}"},
            )
        fields: dict[str, str] = {}
        for category in categories:
            fields.update(REDACTABLE[category])
        try:
            contact = self.hook.update_contact(ref, fields)
        except VendorNotFound:
            return ActionResult(ref, Outcome.ALREADY_ABSENT, {"http_status": 404})
        return ActionResult(
            ref,
            Outcome.REDACTED,
            {"http_status": 200},
            vendor_stamp_after=parse_timestamp(contact.get("udate")),
        )

    def rectify(self, ref: str, changes: Mapping[str, str]) -> list[str]:
        fields = {RECTIFIABLE[key]: value for key, value in changes.items() if key in RECTIFIABLE}
        if fields:
            self.hook.update_contact(ref, fields)
        return sorted(k for k in changes if k in RECTIFIABLE)

    def withdraw_consent(self, email: str) -> dict[str, int]:
        unsubscribed = 0
        records = self.find(email)
        for record in records:
            for membership in self.hook.related(record.ref, "contactLists"):
                if str(membership.get("status")) == "1":
                    self.hook.unsubscribe(record.ref, str(membership["list"]))
                    unsubscribed += 1
        return {"contacts": len(records), "lists_unsubscribed": unsubscribed}
