"""The data inventory of one source: how many values of each field hold each category (never the
values), and what that means against the statement and the policy.

Findings, per source x field x category:
- `bsn`: a BSN, anywhere (one finding per record, with its ref, so a person can remove it): the
  company must never keep one;
- `unlisted`: a category the statement does not list for the source's processor (found by a
  detector, or held by a field the policy maps to it), and not acknowledged in the policy;
- `untreated`: personal data in a field the sweep does not keep to that category's term: the
  field is not mapped, mapped to `none`, or mapped to a category with a longer term;
- `acknowledged`: an unlisted category the policy accepts with a reason (reported, not failed);
- `unmapped`: a field the policy does not name that holds values, none of them personal data
  as far as the detectors see (reported so someone checks it).
The first three fail the run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from ks_privacy.discovery import detectors
from ks_privacy.discovery.fieldmap import FieldMap
from ks_privacy.discovery.sampling import Sample, Values
from ks_privacy.discovery.vocabulary import NEVER_KEPT, NONE, TERM_DETECTED
from ks_privacy.policy import FreeText, RetentionPolicy

FAILING = ("bsn", "unlisted", "untreated")
KINDS = (*FAILING, "acknowledged", "unmapped")


@dataclass
class FieldCount:
    values: int = 0  # non-empty values (items) seen
    found: Counter = field(default_factory=Counter)  # category -> values holding it


@dataclass
class SourceInventory:
    source: str
    records: int = 0
    sample: Sample = field(default_factory=Sample)
    fields: dict[str, FieldCount] = field(default_factory=dict)
    bsn: list[tuple[str, str]] = field(default_factory=list)  # (record ref, field)


def classify(source: str, stream: Iterable[Values], today: date | None) -> SourceInventory:
    """Run the detectors over every value of every field. Values pass through; only counts stay.
    `today` is the run's reference day (birth dates cannot be later)."""
    inventory = SourceInventory(source)
    for item in stream:
        if item.new_record:
            inventory.records += 1
        for name, text in item.pairs:
            count = inventory.fields.get(name)
            if count is None:
                count = inventory.fields[name] = FieldCount()
            count.values += 1
            found = detectors.categories(text, name, today)
            for category in found:
                count.found[category] += 1
            if "bsn" in found:
                inventory.bsn.append((item.ref, name))
    return inventory


@dataclass(frozen=True)
class Finding:
    """One finding: counts, names and refs only (it goes into the evidence as it is)."""

    kind: str
    source: str
    field: str
    category: str | None
    count: int
    rule: str  # the field's rule in the policy, as rule_text() words it
    record_ref: str | None = None

    @property
    def failing(self) -> bool:
        return self.kind in FAILING

    def describe(self, policy: RetentionPolicy) -> str:
        """The finding as a sentence for the log, the report and the failure message."""
        where = f"{self.source}.{self.field}"
        processor = policy.processors[policy.sources[self.source].processor]
        if self.kind == "bsn":
            return f"{where}, record {self.record_ref}: a BSN, which KlantenScoren must never keep"
        if self.kind in ("unlisted", "acknowledged"):
            text = (
                f"{where} ({self.rule}): {self.count} values hold {self.category}, which the "
                f"statement does not list for {processor.label}"
            )
            if self.kind == "acknowledged":
                text += f"; acknowledged in the policy: {processor.acknowledged[self.category]}"
            return text
        if self.kind == "untreated":
            term = policy.categories.get(self.category)
            days = f"{term.term_days}-day term" if term else "term (it has none)"
            return (
                f"{where} ({self.rule}): {self.count} values hold {self.category}, which the "
                f"sweep does not keep to its {days} in this field"
            )
        return (
            f"{where}: {self.count} values, not in the policy's field map (nothing personal "
            "detected: check the field and map it)"
        )


def rule_text(rule) -> str:
    if rule is None:
        return "unmapped"
    if isinstance(rule, FreeText):
        return f"free text ({rule.free_text})"
    return str(rule)


def findings(
    inventory: SourceInventory, policy: RetentionPolicy, fields: FieldMap
) -> list[Finding]:
    name = inventory.source
    processor = policy.processors[policy.sources[name].processor]
    out = [
        Finding("bsn", name, where, "bsn", 1, rule_text(fields.rule(where)), ref)
        for ref, where in inventory.bsn
    ]
    for where, count in sorted(inventory.fields.items()):
        rule = fields.rule(where)
        words = rule_text(rule)
        held = dict(count.found)
        if isinstance(rule, str) and rule != NONE and count.values:
            held[rule] = max(held.get(rule, 0), count.values)
        for category, n in sorted(held.items()):
            if category in NEVER_KEPT or category in processor.categories:
                continue
            kind = "acknowledged" if category in processor.acknowledged else "unlisted"
            out.append(Finding(kind, name, where, category, n, words))
        for category, n in sorted(count.found.items()):
            if category in TERM_DETECTED and not _treated(rule, category, policy):
                out.append(Finding("untreated", name, where, category, n, words))
        if rule is None and count.values and not count.found:
            out.append(Finding("unmapped", name, where, None, count.values, words))
    return out


def _treated(rule, category: str, policy: RetentionPolicy) -> bool:
    """Whether the sweep removes `category` from this field within its term: free text is
    redacted by what it holds; a structured field goes at its own category's term."""
    if isinstance(rule, FreeText):
        return True
    if not isinstance(rule, str) or rule == NONE or category not in policy.categories:
        return False
    return policy.categories[rule].term_days <= policy.categories[category].term_days
