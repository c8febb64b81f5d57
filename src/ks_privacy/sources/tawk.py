"""Tawk live chat as a source: chats whose visitor gave a name, e-mail, phone, and an IP.

Tawk publishes no delete method, so this source is `manual_erasure`: the sweep and erasure
requests put due chats on a worklist that a person deletes in the Tawk dashboard and confirms;
verification then reads each chat back through `chat.get`. Nor can a chat be edited, so a chat
with a phone number is deleted whole when the phone's 160-day term is due, up to 20 days before
its other values: the statement's terms are maximums, so earlier is allowed and later is not.
What visitors typed counts too: when the policy maps `messages`, a scan reads each chat with its
messages (`chat.get`), and a phone number typed in a message makes the chat's phone due at 160
days like the visitor's phone field.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import timedelta
from typing import Any

from ks_privacy.discovery import walk
from ks_privacy.discovery.fieldmap import FieldMap
from ks_privacy.discovery.sampling import Sample, Values
from ks_privacy.discovery.vocabulary import NONE
from ks_privacy.hooks.tawk import TawkHook
from ks_privacy.hooks.vendor_http import VendorNotFound
from ks_privacy.policy import SourcePolicy
from ks_privacy.pseudonym import normalise_email
from ks_privacy.sources.base import ActionResult, ScanWindow, SourceRecord
from ks_privacy.timeutil import parse_timestamp

END_DATE_MARGIN = timedelta(days=1)


class NoDeleteApi(RuntimeError):
    """Tawk has no delete method; deletion is a manual step with a confirmation."""


class TawkSource:
    name = "tawk"
    manual_erasure = True
    one_record_per_person = False  # many chats per person are normal
    erase_batch_size = 100

    def __init__(self, policy: SourcePolicy, hook: TawkHook | None = None):
        self.policy = policy
        self.hook = hook or TawkHook(policy.connection)
        self.fields = FieldMap.of(self.name, policy)
        self.reads_messages = self.fields.rule("messages") not in (None, NONE)

    def categories(self, chat: Mapping[str, Any]) -> frozenset[str]:
        return self.fields.categories(walk.tawk_chat(chat))

    def _record(self, chat: Mapping[str, Any]) -> SourceRecord:
        last = parse_timestamp(chat.get("lastMessageOn"))
        return SourceRecord(
            ref=str(chat["id"]),
            email=(chat.get("visitor") or {}).get("email"),
            categories=self.categories(chat),
            timestamps={"created": parse_timestamp(chat.get("createdOn")), "last_message": last},
            vendor_stamp=last,
        )

    def total(self) -> int:
        return self.hook.count_chats()

    def scan(self, window: ScanWindow) -> Iterator[SourceRecord]:
        """A chat created after the cutoff cannot be due: list only up to it (plus a margin)."""
        end = None if window.full else window.cutoff + END_DATE_MARGIN
        pending = set(window.extra_refs)
        for chat in self.hook.iter_chats(end=end):
            pending.discard(str(chat["id"]))
            if self.reads_messages:  # the listing leaves the messages out
                try:
                    chat = self.hook.get_chat(str(chat["id"]))
                except VendorNotFound:
                    continue  # deleted in the dashboard while we read
            yield self._record(chat)
        for ref in sorted(pending):  # read whatever their clock says (base.ScanWindow)
            try:
                yield self._record(self.hook.get_chat(ref))
            except VendorNotFound:
                continue

    def inventory(self, sample: Sample) -> Iterator[Values]:
        """Every chat with its messages (the listing, 100 a call, then `chat.get` per chat in
        the sample): for ks_data_inventory."""
        for listed in self.hook.iter_chats():
            if not sample.includes(ref := str(listed["id"])):
                continue
            try:
                chat = self.hook.get_chat(ref)
            except VendorNotFound:
                continue  # deleted in the dashboard while we read
            yield Values(ref, list(walk.tawk_chat(chat)))

    def find(self, email: str) -> list[SourceRecord]:
        """Chat listing has no e-mail filter: read the chats, match the address exactly."""
        wanted = normalise_email(email)
        return [
            self._record(chat)
            for chat in self.hook.iter_chats()
            if normalise_email((chat.get("visitor") or {}).get("email") or "") == wanted
        ]

    def present(self, refs: Sequence[str]) -> dict[str, frozenset[str] | None]:
        result: dict[str, frozenset[str] | None] = {}
        for ref in refs:
            try:
                result[ref] = self.categories(self.hook.get_chat(ref))
            except VendorNotFound:
                result[ref] = None
        return result

    def export(self, email: str) -> dict[str, Any]:
        chats = []
        for record in self.find(email):
            try:
                chats.append(self.hook.get_chat(record.ref))
            except VendorNotFound:
                continue
        return {"chats": chats}

    def erase(self, refs: Sequence[str]) -> list[ActionResult]:
        raise NoDeleteApi("Tawk publishes no delete method; chats are deleted by hand (worklist)")

    def redact(self, ref: str, categories: Sequence[str]) -> ActionResult:
        raise NoDeleteApi("Tawk publishes no method to change a chat; use the worklist")

    def rectify(self, ref: str, changes: Mapping[str, str]) -> list[str]:
        """Chats are transcripts: nothing to rectify through the API (the note says so)."""
        return []

    def withdraw_consent(self, email: str) -> dict[str, int]:
        return {"chats": len(self.find(email))}
