"""What a source hands the inventory, and which records a sampled inventory reads.

A sample is reproducible: a record is in it when a hash of its id falls below the sample's
fraction, so the same records are chosen on every run while they exist, spread evenly over the
whole account (not the oldest or newest first), whatever order the vendor lists them in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

_SCALE = 1 << 32


@dataclass(frozen=True, slots=True)
class Values:
    """Some of a record's fields as (field, text) pairs. `new_record` is False for values read
    apart from their record (ActiveCampaign's custom fields), so records are counted once."""

    ref: str
    pairs: Sequence[tuple[str, str]]
    new_record: bool = True


@dataclass(frozen=True)
class Sample:
    """`size` records of `total` (size 0: every record)."""

    size: int = 0
    total: int = 0

    @property
    def everything(self) -> bool:
        return self.size <= 0 or self.size >= self.total

    @property
    def fraction(self) -> float:
        return 1.0 if self.everything else self.size / self.total

    def includes(self, ref: str) -> bool:
        if self.everything:
            return True
        digest = hashlib.sha256(ref.encode()).digest()
        return int.from_bytes(digest[:4], "big") < self.fraction * _SCALE

    def describe(self) -> str:
        if self.everything:
            return "every record"
        return f"a sample of about {self.size} of {self.total} records ({self.fraction:.1%})"
