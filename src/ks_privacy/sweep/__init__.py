"""The retention sweep for one source: scan -> guard -> apply -> verify. Task bodies, not DAG code.

Every step reads and writes the plan in the audit database, so each is safe to retry: scan adds
nothing twice, apply skips what is done and reads back what was in flight, verify re-reads.
Write-ahead evidence: an intent row before every vendor call that changes data, its outcome after.

One module per step: `scanning` and `guarding` make and check the plan, `applying` carries it
out (with `outcomes`, the writer of its outcome rows), `verifying` reads it back; `step` holds
what they share.
"""

from ks_privacy.sweep.applying import apply, confirm_manual, summarise, worklist
from ks_privacy.sweep.guarding import guard
from ks_privacy.sweep.scanning import scan
from ks_privacy.sweep.step import BlockedByOtherRun, GuardTripped, SweepStep, VerificationFailed
from ks_privacy.sweep.verifying import verify

__all__ = [
    "BlockedByOtherRun",
    "GuardTripped",
    "SweepStep",
    "VerificationFailed",
    "apply",
    "confirm_manual",
    "guard",
    "scan",
    "summarise",
    "verify",
    "worklist",
]
