"""One protocol for every system that holds personal data, so DAGs never branch on the vendor.

A source maps its vendor's records onto `SourceRecord`: a reference, the e-mail (only ever used
to compute a pseudonym), which categories of personal data are present (never their values),
the timestamps that start the retention clock, and whether the record is under legal hold.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable


class Outcome(enum.StrEnum):
    ERASED = "erased"
    REDACTED = "redacted"
    ALREADY_ABSENT = "already_absent"
    FAILED = "failed"
    HELD = "held"
    MANUAL = "manual"  # the vendor has no API for it: a person does it, and confirms


@dataclass(frozen=True)
class SourceRecord:
    ref: str
    email: str | None = field(repr=False)  # for the pseudonym only; never stored or logged
    categories: frozenset[str]
    timestamps: Mapping[str, datetime | None]
    held: bool = False
    vendor_stamp: datetime | None = None  # the vendor's own update clock, which our writes bump


@dataclass(frozen=True)
class ActionResult:
    ref: str
    outcome: Outcome
    details: Mapping[str, Any] = field(default_factory=dict)  # non-personal: status, request id
    vendor_stamp_after: datetime | None = None  # the vendor clock after our write (redactions)


@dataclass(frozen=True)
class ScanWindow:
    """Which records a scan must return.

    `cutoff`: records whose vendor clock is later cannot be due, so an incremental scan may skip
    them (None = full scan). `extra_refs`: records that must be read whatever their vendor clock
    says (our own writes bumped it: see the clock ledger).
    """

    cutoff: datetime | None = None
    extra_refs: frozenset[str] = frozenset()

    @property
    def full(self) -> bool:
        return self.cutoff is None


@runtime_checkable
class Source(Protocol):
    name: str
    manual_erasure: bool  # True where the vendor offers no delete API (Tawk)
    erase_batch_size: int  # refs per erase() call: what the vendor's bulk delete takes
    one_record_per_person: bool  # more than one match for an address stops a request

    def total(self) -> int:
        """How many records the source holds now (for the guard's fraction)."""

    def scan(self, window: ScanWindow) -> Iterator[SourceRecord]:
        """Stream records (memory does not grow with account size)."""

    def find(self, email: str) -> list[SourceRecord]:
        """Records of exactly this (normalised) e-mail address: never a substring match."""

    def erase(self, refs: Sequence[str]) -> list[ActionResult]:
        """Delete whole records; an already deleted one is ALREADY_ABSENT, not an error."""

    def redact(self, ref: str, categories: Sequence[str]) -> ActionResult:
        """Empty the given categories of one record."""

    def present(self, refs: Sequence[str]) -> dict[str, frozenset[str] | None]:
        """For verification: the categories still present per ref, None where the record is gone."""

    def export(self, email: str) -> dict[str, Any]:
        """Everything held on the person, for an access/portability request (personal data!)."""

    def rectify(self, ref: str, changes: Mapping[str, str]) -> list[str]:
        """Apply field changes; returns the names of the fields changed (never the values)."""

    def withdraw_consent(self, email: str) -> dict[str, int]:
        """Stop processing based on consent (unsubscribe, stop tracking); returns counts."""


@runtime_checkable
class BatchRedaction(Protocol):
    """Optional, for sources that redact a batch better than one record at a time (Google: one
    batchGet reads the etags of 200 contacts; both vendors keep a few writes under way at once).
    The sweep uses it when there."""

    redact_batch_size: int  # items per redact_many() call

    def redact_many(self, items: Sequence[tuple[str, Sequence[str]]]) -> Iterator[ActionResult]:
        """Redact (ref, categories) items; one result per item, yielded as each is done."""
