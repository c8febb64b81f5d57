"""Google Workspace contacts as a source: names, e-mails, phones, addresses, genders, and every
other person field the policy's `fields` map names (notes are free text: redacted in place).

The People API gives one timestamp, the contact source's `updateTime`; that is the clock. Legal
hold is membership of a contact group (policy `legal_hold.contact_group`). IP addresses, which
the statement lists for Google, are not part of contacts; they live in Workspace logs that
Google keeps under its own terms.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from ks_privacy.discovery import walk
from ks_privacy.discovery.fieldmap import FieldMap
from ks_privacy.discovery.sampling import Sample, Values
from ks_privacy.discovery.vocabulary import GOOGLE_PERSON_FIELDS, NONE
from ks_privacy.hooks.google_contacts import (
    CATEGORY_FIELDS,
    DELETE_BATCH,
    GET_BATCH,
    GoogleContactsHook,
    page_total,
)
from ks_privacy.hooks.vendor_http import VendorNotFound, in_flight, read_ahead
from ks_privacy.policy import SourcePolicy
from ks_privacy.pseudonym import normalise_email
from ks_privacy.sources.base import ActionResult, Outcome, ScanWindow, SourceRecord
from ks_privacy.timeutil import parse_timestamp

EXPORT_FIELDS = ",".join(sorted({*GOOGLE_PERSON_FIELDS, "memberships", "metadata"}))


def contact_update_time(person: Mapping[str, Any]):
    sources = (person.get("metadata") or {}).get("sources") or []
    stamps = [parse_timestamp(s.get("updateTime")) for s in sources if s.get("type") == "CONTACT"]
    stamps = [s for s in stamps if s is not None]
    return max(stamps) if stamps else None


def primary_email(person: Mapping[str, Any]) -> str | None:
    emails = person.get("emailAddresses") or []
    primary = [e for e in emails if (e.get("metadata") or {}).get("primary")]
    chosen = (primary or emails or [{}])[0]
    return chosen.get("value")


def emails_of(person: Mapping[str, Any]) -> set[str]:
    return {
        normalise_email(e["value"]) for e in person.get("emailAddresses") or [] if e.get("value")
    }


def categories_of(person: Mapping[str, Any]) -> frozenset[str]:
    """The statement's categories in the standard person fields (bench/naive.py decides so)."""
    return frozenset(c for c, field in CATEGORY_FIELDS.items() if person.get(field))


def without_metadata(item: Any) -> Any:
    """A person field's item as an update sends it back (its metadata is the server's)."""
    if isinstance(item, Mapping):
        return {k: without_metadata(v) for k, v in item.items() if k != "metadata"}
    return item


RECTIFIABLE = ("first_name", "last_name", "phone", "email", "address")


def rectified_fields(
    changes: Mapping[str, str], current_names: list[dict] | None = None
) -> dict[str, list[dict]]:
    """Our rectification keys as People API person fields. A name is one field there: the part
    not being changed is kept from `current_names`."""
    fields: dict[str, list[dict]] = {}
    if "first_name" in changes or "last_name" in changes:
        current = (current_names or [{}])[0]
        fields["names"] = [
            {
                "givenName": changes.get("first_name", current.get("givenName", "")),
                "familyName": changes.get("last_name", current.get("familyName", "")),
            }
        ]
    if "phone" in changes:
        fields["phoneNumbers"] = [{"value": changes["phone"]}]
    if "email" in changes:
        fields["emailAddresses"] = [{"value": changes["email"]}]
    if "address" in changes:
        fields["addresses"] = [{"formattedValue": changes["address"]}]
    return fields


class GoogleContactsSource:
    name = "google_contacts"
    manual_erasure = False
    one_record_per_person = True  # two contacts for one address need a human: never guess
    erase_batch_size = DELETE_BATCH
    redact_batch_size = GET_BATCH  # one batchGet reads the etags of a whole batch of redactions

    def __init__(self, policy: SourcePolicy, hook: GoogleContactsHook | None = None):
        self.policy = policy
        self._hook = hook
        self._scan_total: int | None = None  # `totalItems` as the latest scan read it
        self.fields = FieldMap.of(self.name, policy)
        mapped = {f for f, rule in self.fields.rules.items() if rule != NONE}
        # what a scan, a find and a read-back ask for: every mapped field, groups and clock
        self.person_fields = ",".join(sorted(mapped | {"memberships", "metadata"}))

    @property
    def hook(self) -> GoogleContactsHook:
        if self._hook is None:  # GoogleBaseHook reads its connection when built: build late
            self._hook = GoogleContactsHook(self.policy.connection)
        return self._hook

    def _hold_group(self) -> str | None:
        group = self.policy.legal_hold.contact_group
        return self.hook.group_resource_name(group) if group else None

    def _record(self, person: Mapping[str, Any], hold_group: str | None) -> SourceRecord:
        groups = {
            (m.get("contactGroupMembership") or {}).get("contactGroupResourceName")
            for m in person.get("memberships") or []
        }
        updated = contact_update_time(person)
        return SourceRecord(
            ref=person["resourceName"],
            email=primary_email(person),
            categories=self.categories(person),
            timestamps={"updated": updated},
            held=hold_group is not None and hold_group in groups,
            vendor_stamp=updated,
        )

    def categories(self, person: Mapping[str, Any]) -> frozenset[str]:
        return self.fields.categories(walk.google_person(person))

    def total(self) -> int:
        """The mailbox's `totalItems`: the one a scan just read (every page has it), else asked."""
        seen, self._scan_total = self._scan_total, None
        return seen if seen is not None else self.hook.total()

    def scan(self, window: ScanWindow) -> Iterator[SourceRecord]:
        """Oldest-modified first, so an incremental scan stops at the cutoff; then the ledger's
        refs (`extra_refs`) not seen, 200 a batchGet. Streamed: a page in memory at a time."""
        hold_group = self._hold_group()
        pending = set(window.extra_refs)
        for person in self._connections(window.cutoff):
            updated = contact_update_time(person)
            if not window.full and updated is not None and updated > window.cutoff:
                break
            pending.discard(person["resourceName"])
            yield self._record(person, hold_group)
        for _name, person in self.hook.iter_batch_get(sorted(pending), self.person_fields):
            yield self._record(person, hold_group)

    def _connections(self, cutoff: datetime | None) -> Iterator[dict]:
        for i, page in enumerate(read_ahead(self._pages(cutoff))):
            if i == 0:
                self._scan_total = page_total(page)
            yield from page.get("connections", [])

    def _pages(self, cutoff: datetime | None) -> Iterator[dict]:
        """The list's pages, up to the one that reaches past the cutoff (the list is oldest
        first: nothing after that page can be due)."""
        for page in self.hook.iter_connection_pages(person_fields=self.person_fields):
            yield page
            people = page.get("connections") or []
            last = contact_update_time(people[-1]) if people else None
            if cutoff is not None and last is not None and last > cutoff:
                return

    def inventory(self, sample: Sample) -> Iterator[Values]:
        """Every contact with every person field it can hold (1000 a call): for
        ks_data_inventory."""
        for person in self.hook.iter_connections(person_fields=EXPORT_FIELDS):
            if sample.includes(ref := person["resourceName"]):
                yield Values(ref, list(walk.google_person(person)))

    def _matching(self, email: str, fields: str) -> list[dict]:
        wanted = normalise_email(email)
        return [
            p for p in self.hook.iter_connections(person_fields=fields) if wanted in emails_of(p)
        ]

    def find(self, email: str) -> list[SourceRecord]:
        """Exact, normalised match on any of a contact's addresses. The API's searchContacts is a
        prefix search over a lagging index, so the contacts are read instead."""
        matches = self._matching(email, "emailAddresses,memberships,metadata,names,phoneNumbers")
        if not matches:
            return []
        hold_group = self._hold_group()
        full = self.hook.batch_get([p["resourceName"] for p in matches], self.person_fields)
        return [self._record(p, hold_group) for p in full.values()]

    def present(self, refs: Sequence[str]) -> dict[str, frozenset[str] | None]:
        found = self.hook.batch_get(list(refs), self.person_fields)
        return {ref: self.categories(found[ref]) if ref in found else None for ref in refs}

    def export(self, email: str) -> dict[str, Any]:
        people = self._matching(email, EXPORT_FIELDS)
        return {"contacts": people}

    def erase(self, refs: Sequence[str]) -> list[ActionResult]:
        deleted, absent = self.hook.delete_existing(list(refs))
        return [ActionResult(ref, Outcome.ERASED) for ref in deleted] + [
            ActionResult(ref, Outcome.ALREADY_ABSENT, {"http_status": 404}) for ref in absent
        ]

    def redact(self, ref: str, categories: Sequence[str]) -> ActionResult:
        return self._redact(ref, categories, None)

    def redact_many(self, items: Sequence[tuple[str, Sequence[str]]]) -> Iterator[ActionResult]:
        """Redact many records: their etags come from one batchGet per 200 (instead of a GET
        each), then one updateContact each. A record the batchGet no longer finds is
        ALREADY_ABSENT without a write. Results come one by one, in order, as each write is
        done; `max_in_flight` writes are under way at once."""
        for start in range(0, len(items), GET_BATCH):
            chunk = list(items[start : start + GET_BATCH])
            current = self.hook.batch_get([ref for ref, _ in chunk], self._write_fields)

            def one(item: tuple[str, Sequence[str]], current=current) -> ActionResult:
                ref, categories = item
                if ref not in current:
                    return ActionResult(ref, Outcome.ALREADY_ABSENT, {"http_status": 404})
                return self._redact(ref, categories, current[ref])

            yield from in_flight(one, chunk, self.hook.api.max_in_flight)

    @property
    def _write_fields(self) -> str:
        """What a redaction reads first: the etag, and the free text it may have to rewrite."""
        return ",".join(["metadata", *sorted(self.fields.free_text())])

    def _changes(self, person: Mapping[str, Any], due: set[str]) -> tuple[dict, list[str]]:
        """The person fields to write: every field mapped to a due category emptied, free text
        with the due values replaced; and the free-text fields left for a person (`flag`)."""
        changes: dict[str, list] = {f: [] for f in self.fields.structured(due)}
        flagged = []
        for field in self.fields.free_text():
            items, changed = [], False
            for item in person.get(field) or []:
                item = without_metadata(item)
                for key, text in list(item.items()):
                    if not isinstance(text, str):
                        continue
                    result = self.fields.redact_free_text(field, text, due)
                    if result.text is not None:
                        item[key], changed = result.text, True
                    if result.flagged and field not in flagged:
                        flagged.append(field)
                items.append(item)
            if changed:
                changes[field] = items
        return changes, flagged

    def _redact(self, ref: str, categories: Sequence[str], person: dict | None) -> ActionResult:
        """Empty the due categories' fields; with free text mapped, the changes are computed from
        the contact as read just before the write (again after a stale etag)."""
        due = set(categories)
        flagged: list[str] = []

        def compute(current: dict) -> dict[str, list]:
            changes, flags = self._changes(current, due)
            flagged[:] = flags
            return changes

        try:
            if self.fields.free_text():
                after = self.hook.update_computed(ref, self._write_fields, compute, person)
            else:
                after = self.hook.update_fields(ref, compute(person or {}), person=person)
        except VendorNotFound:
            return ActionResult(ref, Outcome.ALREADY_ABSENT, {"http_status": 404})
        details = {"flagged": ",".join(flagged)} if flagged else {}
        return ActionResult(
            ref, Outcome.REDACTED, details, vendor_stamp_after=contact_update_time(after)
        )

    def rectify(self, ref: str, changes: Mapping[str, str]) -> list[str]:
        """Returns our names of the fields changed (`first_name`...), as every source does."""
        person = None
        if ("first_name" in changes) != ("last_name" in changes):  # half a name: keep the rest
            person = self.hook.get_person(ref, "names,metadata")
        fields = rectified_fields(changes, (person or {}).get("names"))
        if fields:
            self.hook.update_fields(ref, fields, person=person)
        return sorted(k for k in changes if k in RECTIFIABLE)

    def withdraw_consent(self, email: str) -> dict[str, int]:
        """Contacts in the mailbox are not a consent-based mailing: nothing to unsubscribe."""
        return {"contacts": len(self.find(email))}
