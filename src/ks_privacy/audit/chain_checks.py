"""Is the audit chain the one we wrote? Everything `verify` asks of the chain, in one status:

- the walk: every row hashes to what is stored and links to the row before, seq numbers run
  without gaps, and `recorded_at` never runs backwards (`AuditTrail.verify`);
- the anchors: every anchor in the anchor store (and any `SEQ:HASH` an auditor gives) still
  matches its row, so cutting rows off the end or re-hashing the chain is caught;
- the append-only triggers are in place, enabled, and still refuse;
- the tables decisions read agree with the state the chain mirrored (ks_privacy.state_evidence).

Only when all of these hold is the chain called "intact".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from ks_privacy import anchors as anchor_store
from ks_privacy import state_evidence
from ks_privacy.anchors import Anchor
from ks_privacy.audit.findings import Finding
from ks_privacy.audit_db import connection
from ks_privacy.evidence import AuditTrail, ChainReport

# The append-only guards migration 001 installs: name -> (pg_trigger.tgtype bits it needs, text)
# (tgtype bits: 2 BEFORE, 8 DELETE, 16 UPDATE, 32 TRUNCATE)
PG_TRIGGERS = {
    "ks_evidence_no_update_delete": (2 | 8 | 16, "BEFORE UPDATE and DELETE"),
    "ks_evidence_no_truncate": (2 | 32, "BEFORE TRUNCATE"),
}
SQLITE_TRIGGERS = {
    "ks_evidence_no_update": "BEFORE UPDATE",
    "ks_evidence_no_delete": "BEFORE DELETE",
}


def parse_anchor(text: str) -> tuple[int, str]:
    """`SEQ:HASH` as an auditor noted it from a log, a report or an anchor."""
    seq, _, digest = text.strip().lstrip("#").partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise ValueError(f"anchor {text!r} is not SEQ:HASH (a row number and a 64-hex hash)")
    return int(seq), digest.lower()


def given_anchors(noted: Sequence[tuple[int, str]]) -> list[Anchor]:
    """Heads an auditor noted by hand, checked like published anchors (their own record)."""
    return [
        Anchor(f"given {seq}:{digest}", seq, digest, seq, "", "by hand", "auditor", True)
        for seq, digest in noted
    ]


def load_anchors(base=None, public=None, tsa=None) -> list[Anchor]:
    """Every anchor in the store (Airflow variable `ks_audit_anchor_base` when `base` is None)."""
    return anchor_store.read_anchors(
        base if base is not None else anchor_store.store(), public, tsa
    )


def trigger_problems(engine: Engine) -> list[str]:
    """The append-only triggers on ks_evidence: present, enabled, and still refusing."""
    problems = []
    with connection(engine) as conn:
        if conn.dialect.name == "postgresql":
            rows = conn.exec_driver_sql(
                "SELECT t.tgname, t.tgenabled, t.tgtype, p.prosrc "
                "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "JOIN pg_proc p ON p.oid = t.tgfoid "
                "WHERE c.relname = 'ks_evidence' AND NOT t.tgisinternal"
            ).all()
            found = {name: (enabled, kind, body) for name, enabled, kind, body in rows}
            for name, (bits, timing) in PG_TRIGGERS.items():
                if name not in found:
                    problems.append(f"append-only trigger {name} on ks_evidence is missing")
                    continue
                enabled, kind, body = found[name]
                enabled = enabled.decode() if isinstance(enabled, bytes) else str(enabled)
                if enabled not in ("O", "A"):
                    problems.append(f"append-only trigger {name} on ks_evidence is disabled")
                if int(kind) & bits != bits:
                    problems.append(f"append-only trigger {name} no longer fires {timing}")
                if "RAISE EXCEPTION" not in (body or "").upper():
                    problems.append(f"append-only trigger {name}'s function no longer refuses")
        else:
            rows = conn.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name = 'ks_evidence'"
            ).all()
            found = {name: sql or "" for name, sql in rows}
            for name, timing in SQLITE_TRIGGERS.items():
                if name not in found:
                    problems.append(f"append-only trigger {name} on ks_evidence is missing")
                elif timing not in found[name].upper() or "RAISE(ABORT" not in found[name]:
                    problems.append(f"append-only trigger {name} no longer refuses {timing}")
    return problems


@dataclass(frozen=True)
class ChainStatus:
    report: ChainReport
    anchors: tuple[Anchor, ...] = ()
    mirrored_rows: int = 0
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.problem]

    @property
    def ok(self) -> bool:
        return self.report.ok and not self.problems

    @property
    def newest_anchor(self) -> Anchor | None:
        good = [a for a in self.anchors if a.signed and not a.problem]
        return max(good, key=lambda a: a.seq) if good else None

    def summary(self) -> str:
        report = self.report
        if self.ok:
            return (
                f"audit chain intact: {report.length} rows, head #{report.head_seq} "
                f"{report.head_hash}; {len(self.anchors)} anchor(s) match, append-only triggers "
                f"in place, {self.mirrored_rows} mirrored row(s) agree"
            )
        first = self.problems[0].text if self.problems else report.summary()
        return f"audit chain NOT intact ({len(self.problems)} problem(s)): {first}"


def check_chain(engine: Engine, anchors: Sequence[Anchor] = ()) -> ChainStatus:
    """Walk the chain, check it against the anchors, the triggers and the mirrored tables."""
    report = AuditTrail(engine).verify()
    findings = []
    if not report.ok:
        findings.append(Finding("chain", report.summary()))
    anchor_problems, anchor_flags = anchor_store.check(engine, anchors)
    findings += [Finding("chain", text) for text in anchor_problems]
    unsigned = [text for text in anchor_flags if "signature not checked" in text]
    if unsigned:
        findings.append(
            Finding("chain", f"{len(unsigned)} anchor signature(s) not checked", problem=False)
        )
    if not anchors:
        findings.append(
            Finding(
                "chain",
                "no anchors yet: rows removed from the end could not be noticed (every "
                "ks_audit_verify run publishes one)",
                problem=False,
            )
        )
    findings += [Finding("chain", text) for text in trigger_problems(engine)]
    checked, mismatches = state_evidence.reconcile(engine)
    findings += [Finding("state", m.text) for m in mismatches]
    return ChainStatus(report, tuple(anchors), checked, tuple(findings))
