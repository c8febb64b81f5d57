"""ActiveCampaign as a source: contacts with name, phone, e-mail and IP (as the statement lists),
and whatever their custom fields hold, as the policy's `fields` map says (activecampaign_fields).

Legal hold is a tag (policy `legal_hold.tag`). The clock: `cdate` (created), `udate` (updated)
and `adate` (last activity), whichever is latest.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from ks_privacy.discovery import walk
from ks_privacy.discovery.fieldmap import FieldMap
from ks_privacy.discovery.sampling import Sample, Values
from ks_privacy.discovery.vocabulary import CUSTOM_PREFIX
from ks_privacy.hooks.activecampaign import IDS_PER_FILTER, ActiveCampaignHook
from ks_privacy.hooks.vendor_http import VendorError, VendorNotFound, in_flight, read_ahead
from ks_privacy.policy import SourcePolicy
from ks_privacy.pseudonym import normalise_email
from ks_privacy.sources.activecampaign_fields import CustomFieldValues
from ks_privacy.sources.base import ActionResult, Outcome, ScanWindow, SourceRecord
from ks_privacy.timeutil import parse_timestamp

# Category -> the contact fields that hold it and the value that empties them (the statement's
# own fields; bench/naive.py decides with these).
REDACTABLE = {"phone": {"phone": ""}, "name": {"firstName": "", "lastName": ""}}
EMPTIABLE = frozenset({"firstName", "lastName", "phone"})  # the API refuses an empty e-mail
RECTIFIABLE = {
    "first_name": "firstName",
    "last_name": "lastName",
    "phone": "phone",
    "email": "email",
}
RELATIONS = ("contactTags", "contactLists", "fieldValues", "trackingLogs", "geoIps")
# `filters[updated_before]` takes a date, read as midnight in the account's time zone. The date
# asked for is the first whose midnight there is not before the cutoff, so the filter returns
# every contact whose clock is at or before the cutoff and at most a day more; the policy then
# decides exactly. Over-reading is safe, under-reading is not. The account's UTC offset comes
# from a contact's `udate` (the API gives its times with the offset); ZONE_MARGIN covers a
# daylight-saving change between that contact's date and the filter's. Without an offset the
# earliest zone on Earth (UTC+14) is assumed.
ZONE_MARGIN = timedelta(hours=2)
EARLIEST_ZONE = timedelta(hours=14)


def categories_of(contact: Mapping[str, Any]) -> frozenset[str]:
    """The statement's categories in the contact's own fields (without custom fields)."""
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


def account_offset(contact: Mapping[str, Any] | None) -> timedelta | None:
    """The account's UTC offset as a contact's `udate` (or `cdate`) shows it."""
    for key in ("udate", "cdate"):
        text = (contact or {}).get(key)
        if not text or str(text).startswith("0000"):
            continue
        try:
            return datetime.fromisoformat(str(text).replace("Z", "+00:00")).utcoffset()
        except ValueError:
            continue
    return None


def updated_before_date(cutoff: datetime, offset: timedelta | None) -> date:
    """The date for `filters[updated_before]` (strict: `udate` before that date's midnight in the
    account's zone): the earliest whose midnight there is after `cutoff`, so no contact with a
    clock at or before the cutoff is left out."""
    ahead = EARLIEST_ZONE if offset is None else offset + ZONE_MARGIN
    local = (cutoff + ahead).replace(tzinfo=None)  # the cutoff on the account's clock, or later
    return local.date() + timedelta(days=1)


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
    one_record_per_person = True  # two contacts for one address need a human: never guess
    # no bulk delete or update in the API: these only set how often evidence is flushed (every
    # 10 s at 5 requests/s)
    erase_batch_size = 50
    redact_batch_size = 50

    def __init__(self, policy: SourcePolicy, hook: ActiveCampaignHook | None = None):
        self.policy = policy
        self.hook = hook or ActiveCampaignHook(policy.connection)
        self.fields = FieldMap.of(self.name, policy)
        self.custom = CustomFieldValues(self.hook, self.fields)
        self._scan_total: int | None = None  # `meta.total` as the latest scan read it

    # ---- reading ----------------------------------------------------------------------------

    def _hold_tag_id(self) -> str | None:
        tag = self.policy.legal_hold.tag
        return self.hook.tag_id(tag) if tag else None

    def _own_categories(self, contact: Mapping[str, Any]) -> frozenset[str]:
        return self.fields.categories(walk.activecampaign_contact(contact))

    def _record(
        self, contact: Mapping[str, Any], held: bool, custom: frozenset[str] = frozenset()
    ) -> SourceRecord:
        updated = parse_timestamp(contact.get("udate"))
        return SourceRecord(
            ref=str(contact["id"]),
            email=contact.get("email"),
            categories=self._own_categories(contact) | custom,
            timestamps={
                "created": parse_timestamp(contact.get("cdate")),
                "updated": updated,
                "engaged": parse_timestamp(contact.get("adate")),
            },
            held=held,
            vendor_stamp=updated,
        )

    def total(self) -> int:
        """The account's `meta.total`: the one a scan just read (it asks anyway), else asked."""
        seen, self._scan_total = self._scan_total, None
        return seen if seen is not None else self.hook.count_contacts()

    def scan(self, window: ScanWindow) -> Iterator[SourceRecord]:
        """Contacts in id order, each with its legal hold. The held contacts are a second
        id-ordered stream (the tag's filter, with the same date filter) walked alongside, so
        memory stays flat whatever the account's size.

        Incremental: the contacts not updated since the cutoff's date (see
        `updated_before_date`), then the ledger's refs (`extra_refs`) not among them, 100 a
        call, with their holds (the tag's filter on the same ids)."""
        tag_id = self._hold_tag_id()
        custom = self.custom.categories_by_contact()  # every mapped custom field, 100 a call
        if window.full:
            pages = read_ahead(self.hook.iter_pages())
            held = self._held_ids(tag_id, None)
            contacts = self._contacts(pages, remember_total=True)
            yield from self._with_holds(contacts, held, custom)
            return
        total, sample = self.hook.sample_contact()
        self._scan_total = total
        before = updated_before_date(window.cutoff, account_offset(sample))
        pending = set(window.extra_refs)
        pages = read_ahead(self.hook.iter_pages(updated_before=before))
        contacts = self._contacts(pages, remember_total=False)
        for record in self._with_holds(contacts, self._held_ids(tag_id, before), custom):
            pending.discard(record.ref)
            yield record
        ordered = sorted(pending, key=int)
        for start in range(0, len(ordered), IDS_PER_FILTER):
            chunk = ordered[start : start + IDS_PER_FILTER]
            found = self.hook.get_contacts(chunk)
            held = set()
            if found and tag_id is not None:
                held = {str(c["id"]) for c in self.hook.get_contacts(chunk, tag_id=tag_id)}
            for contact in found:
                ref = str(contact["id"])
                yield self._record(contact, ref in held, custom.get(ref, frozenset()))

    def _contacts(self, pages: Iterable[dict], remember_total: bool) -> Iterator[dict]:
        for i, page in enumerate(pages):
            if i == 0 and remember_total:  # an unfiltered first page counts the whole account
                self._scan_total = int(page.get("meta", {}).get("total", 0))
            yield from page.get("contacts", [])

    def _held_ids(self, tag_id: str | None, before: date | None) -> Iterator[int]:
        if tag_id is None:
            return iter(())
        pages = read_ahead(self.hook.iter_pages(updated_before=before, tag_id=tag_id))
        return (int(c["id"]) for c in self._contacts(pages, remember_total=False))

    def _with_holds(
        self, contacts: Iterable[dict], held_ids: Iterator[int], custom: dict[str, frozenset]
    ) -> Iterator[SourceRecord]:
        """Merge two id-ordered streams: each contact, held if the held stream has its id, with
        the categories its custom fields hold."""
        next_held = next(held_ids, None)
        for contact in contacts:
            cid = int(contact["id"])
            while next_held is not None and next_held < cid:
                next_held = next(held_ids, None)
            yield self._record(contact, next_held == cid, custom.get(str(cid), frozenset()))

    def inventory(self, sample: Sample) -> Iterator[Values]:
        """Every contact's own fields (100 a call, in id order), then every value of every custom
        field, mapped or not (100 a call per field): for ks_data_inventory."""
        for contact in self.hook.iter_contacts():
            if sample.includes(ref := str(contact["id"])):
                yield Values(ref, list(walk.activecampaign_contact(contact)))
        for ref, name, text in self.custom.every_value():
            if sample.includes(ref):
                yield Values(ref, [(name, text)], new_record=False)

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
        tag_id = self._hold_tag_id() if matches else None
        held: set[str] = set()
        if tag_id is not None:
            ids = [str(c["id"]) for c in matches]
            held = {str(c["id"]) for c in self.hook.get_contacts(ids, tag_id=tag_id)}
        return [
            self._record(c, str(c["id"]) in held, self._custom_categories(str(c["id"])))
            for c in matches
        ]

    def _custom_categories(self, ref: str) -> frozenset[str] | None:
        """The categories the contact's mapped custom fields hold (None: the contact is gone)."""
        try:
            return self.custom.categories_of(ref)
        except VendorNotFound:
            return None

    def present(self, refs: Sequence[str]) -> dict[str, frozenset[str] | None]:
        """The categories still there per ref: its own fields, and its mapped custom fields."""
        contacts = {str(c["id"]): c for c in self.hook.get_contacts(list(refs))}
        custom = self.custom.categories_for(list(contacts))
        found = {
            ref: None if custom[ref] is None else self._own_categories(contact) | custom[ref]
            for ref, contact in contacts.items()
        }
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
            contact["custom_fields"] = self.custom.export(record.ref)  # with their titles
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
        """One DELETE per contact (the API has no bulk delete), `max_in_flight` at once."""
        return list(in_flight(self._erase_one, list(refs), self.hook.api.max_in_flight))

    def _erase_one(self, ref: str) -> ActionResult:
        try:
            deleted = self.hook.delete_contact(ref)
        except VendorError as exc:
            if exc.status is None or exc.status >= 500 or exc.status in (401, 403, 429):
                raise  # the account or the service is in trouble: stop, retry the task
            return ActionResult(ref, Outcome.FAILED, {"http_status": exc.status})
        outcome = Outcome.ERASED if deleted else Outcome.ALREADY_ABSENT
        return ActionResult(ref, outcome, {"http_status": 200 if deleted else 404})

    def redact_many(self, items: Sequence[tuple[str, Sequence[str]]]) -> Iterator[ActionResult]:
        """One PUT per contact, `max_in_flight` at once; results one by one, in order."""
        yield from in_flight(
            lambda item: self.redact(*item), list(items), self.hook.api.max_in_flight
        )

    def redact(self, ref: str, categories: Sequence[str]) -> ActionResult:
        """Empty every field the policy maps to the due categories: the contact's own (one PUT,
        which answers with the contact's custom field values) and then its custom fields (the
        value emptied, free text redacted in place). The `udate` of the last answer is the
        contact's clock after all our writes."""
        due = set(categories)
        own = [f for f in self.fields.structured(due) if not f.startswith(CUSTOM_PREFIX)]
        unsupported = sorted({self.fields.rule(f) for f in own if f not in EMPTIABLE})
        if unsupported:
            return ActionResult(
                ref,
                Outcome.FAILED,
                {"reason": f"no API field to empty for {','.join(unsupported)}"},
            )
        try:
            answer = self.hook.put_contact(ref, dict.fromkeys(own, ""))
            flagged, after = self.custom.redact(due, answer.get("fieldValues") or [])
        except VendorNotFound:
            return ActionResult(ref, Outcome.ALREADY_ABSENT, {"http_status": 404})
        contact = after or answer.get("contact", {})
        details: dict[str, Any] = {"http_status": 200}
        if flagged:  # left for a person: the read-back finds it and the run says so
            details["flagged"] = ",".join(flagged)
        return ActionResult(
            ref,
            Outcome.REDACTED,
            details,
            vendor_stamp_after=parse_timestamp(contact.get("udate")),
        )

    def rectify(self, ref: str, changes: Mapping[str, str]) -> list[str]:
        fields = {RECTIFIABLE[key]: value for key, value in changes.items() if key in RECTIFIABLE}
        if fields:
            self.hook.update_contact(ref, fields)
        changed = {k for k in changes if k in RECTIFIABLE}
        for key in ("phone", "email", "address"):  # the mapped custom fields holding one
            if key in changes and self.custom.rectify(ref, key, changes[key]):
                changed.add(key)
        return sorted(changed)

    def withdraw_consent(self, email: str) -> dict[str, int]:
        unsubscribed = 0
        records = self.find(email)
        for record in records:
            for membership in self.hook.related(record.ref, "contactLists"):
                if str(membership.get("status")) == "1":
                    self.hook.unsubscribe(record.ref, str(membership["list"]))
                    unsubscribed += 1
        return {"contacts": len(records), "lists_unsubscribed": unsubscribed}
