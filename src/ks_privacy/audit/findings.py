"""One thing a check found: a problem (a broken promise: fails the check) or a flag (something
to watch, reported but not failing)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    check: str  # chain | state | verification | requests | retention
    text: str
    problem: bool = True  # False: a flag, reported but not failing
