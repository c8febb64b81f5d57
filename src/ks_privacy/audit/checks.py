"""The three promises an auditor checks every day, each from the audit database alone:

1. The chain is whole (ks_privacy.audit.chain_checks): no row edited, removed or reordered, no
   anchor contradicted, the append-only triggers in place, the mirrored tables unchanged.
2. Every removal was read back: each `erased`/`redacted` outcome is followed by a `verify`
   event `verified` for the same record. A `still_present` read-back, or none after the grace
   period, is a problem.
3. Every data-subject request was answered within four weeks: closed on or before its due date
   (received + 4 weeks), or flagged; the register agrees with the `request.*` evidence.

Problems fail the daily DAG; flags are reported (something to watch, not a broken promise yet).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from sqlalchemy.engine import Engine

from ks_privacy import request_status
from ks_privacy.anchors import Anchor
from ks_privacy.audit import store
from ks_privacy.audit.chain_checks import ChainStatus, check_chain
from ks_privacy.audit.findings import Finding

VERIFY_GRACE = timedelta(hours=24)
DUE_SOON_DAYS = 7
# one set of statuses for the register, these checks and the tasks (ks_privacy.request_status)
REGISTER_STATUSES = tuple(str(s) for s in request_status.ALL)
CLOSED_STATUSES = tuple(str(s) for s in request_status.CLOSED)


# ---- 2. removals read back ---------------------------------------------------------------------


@dataclass(frozen=True)
class Unverified:
    seq: int
    event: str
    outcome: str
    source: str | None
    record_ref: str | None
    recorded_at: datetime
    state: str  # awaiting (within grace) | missing | still_present


@dataclass
class VerificationStatus:
    removals: int = 0  # erased/redacted outcomes seen
    verified: int = 0  # of those, read back as gone
    open_items: list[Unverified] = field(default_factory=list)
    grace: timedelta = VERIFY_GRACE

    @property
    def missing(self) -> list[Unverified]:
        return [u for u in self.open_items if u.state == "missing"]

    @property
    def still_present(self) -> list[Unverified]:
        return [u for u in self.open_items if u.state == "still_present"]

    @property
    def awaiting(self) -> list[Unverified]:
        return [u for u in self.open_items if u.state == "awaiting"]

    @property
    def findings(self) -> list[Finding]:
        out = []
        for item in self.open_items:
            where = f"{item.source}/{item.record_ref}"
            if item.state == "still_present":
                out.append(
                    Finding(
                        "verification",
                        f"row #{item.seq} ({item.event} {item.outcome}, {where}): the read-back "
                        "found it still present",
                    )
                )
            elif item.state == "missing":
                out.append(
                    Finding(
                        "verification",
                        f"row #{item.seq} ({item.event} {item.outcome}, {where}): no `verify` "
                        f"event within {_hours(self.grace)}",
                    )
                )
            else:
                out.append(
                    Finding(
                        "verification",
                        f"row #{item.seq} ({item.event} {item.outcome}, {where}): read-back "
                        "pending (recent)",
                        problem=False,
                    )
                )
        return out

    def summary(self) -> str:
        return (
            f"{self.removals} erasures/redactions, {self.verified} read back as gone, "
            f"{len(self.still_present)} still present, {len(self.missing)} without read-back, "
            f"{len(self.awaiting)} awaiting read-back"
        )


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:g} h"


def check_verifications(
    engine: Engine, now: datetime, grace: timedelta = VERIFY_GRACE
) -> VerificationStatus:
    """Walk the evidence once: pair every erased/redacted outcome with the next `verify` event
    of the same (source, record). A later `verified` read-back also settles an earlier
    `still_present` one. Only unresolved records are kept in memory."""
    status = VerificationStatus(grace=grace)
    awaiting: dict[tuple, list[Unverified]] = {}
    still: dict[tuple, Unverified] = {}
    for row in store.iter_evidence(engine):
        event, outcome = row["event"], row["outcome"]
        key = (row["source"], row["record_ref"])
        if event in store.REMOVAL_EVENTS and outcome in store.REMOVED_OUTCOMES:
            status.removals += 1
            item = Unverified(
                row["seq"],
                event,
                outcome,
                row["source"],
                row["record_ref"],
                row["recorded_at"],
                "awaiting",
            )
            awaiting.setdefault(key, []).append(item)
        elif event == store.VERIFY_EVENT:
            items = awaiting.pop(key, [])
            if outcome == "verified":
                status.verified += len(items)
                still.pop(key, None)  # a later read-back found it gone after all
            elif items:
                still[key] = replace(items[-1], state="still_present")
    for items in awaiting.values():
        for item in items:
            if now - item.recorded_at > grace:
                item = replace(item, state="missing")
            status.open_items.append(item)
    status.open_items.extend(still.values())
    status.open_items.sort(key=lambda u: u.seq)
    return status


# ---- 3. requests within four weeks -------------------------------------------------------------


@dataclass(frozen=True)
class RequestStatus:
    request_ref: str
    kind: str
    subject_ref: str
    received_on: date
    due_on: date
    status: str
    closed_on: date | None
    response_days: int | None  # received -> closed; None while open
    days_open: int  # received -> closed, or -> today while open
    verdict: str  # on time | late | open | due soon | overdue
    notes: tuple[str, ...] = ()


@dataclass
class RequestsStatus:
    rows: list[RequestStatus] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    deadline_days: int = 28

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for row in self.rows:
            counts[row.verdict] = counts.get(row.verdict, 0) + 1
        parts = ", ".join(f"{n} {verdict}" for verdict, n in sorted(counts.items()))
        return f"{len(self.rows)} requests in the register" + (f": {parts}" if parts else "")


def check_requests(engine: Engine, today: date, deadline_days: int = 28) -> RequestsStatus:
    result = RequestsStatus(deadline_days=deadline_days)
    events = store.request_status_events(engine)
    holding = store.requests_holding_an_address(engine)
    for row in store.requests_register(engine):
        ref = row["request_ref"]
        received, due = row["received_on"], row["due_on"]
        closed_on = row["closed_at"].date() if row["closed_at"] else None
        status = row["status"]
        notes = []
        if due != received + timedelta(days=deadline_days):
            notes.append(f"due date {due} is not {deadline_days} days after receipt {received}")
            due = min(due, received + timedelta(days=deadline_days))
        if status in CLOSED_STATUSES and closed_on is not None:
            days = (closed_on - received).days
            verdict = "on time" if closed_on <= due else "late"
            response = days
        else:
            days = (today - received).days
            response = None
            if today > due:
                verdict = "overdue"
            elif (due - today).days <= DUE_SOON_DAYS:
                verdict = "due soon"
            else:
                verdict = "open"
        notes.extend(_register_vs_evidence(row, events.get(ref, [])))
        if status in CLOSED_STATUSES and ref in holding:
            notes.append("it is closed, but its address is still in the vault (key not destroyed)")
        item = RequestStatus(
            ref,
            row["kind"],
            row["subject_ref"],
            received,
            due,
            status,
            closed_on,
            response,
            days,
            verdict,
            tuple(notes),
        )
        result.rows.append(item)
        if verdict == "overdue":
            result.findings.append(
                Finding(
                    "requests",
                    f"request {ref} ({item.kind}) is open {days} days, past its due date {due}",
                )
            )
        elif verdict == "late":
            result.findings.append(
                Finding(
                    "requests",
                    f"request {ref} ({item.kind}) was answered after {days} days, after its "
                    f"due date {due} (flagged: a broken promise on record)",
                    problem=False,
                )
            )
        elif verdict == "due soon":
            result.findings.append(
                Finding(
                    "requests",
                    f"request {ref} ({item.kind}) is due on {due}",
                    problem=False,
                )
            )
        for note in notes:
            result.findings.append(Finding("requests", f"request {ref}: {note}"))
    return result


def _register_vs_evidence(row: dict, events: list[dict]) -> list[str]:
    """The register row must be backed by the chain: registered, same person, same status."""
    notes = []
    registered = [e for e in events if e["event"] == "request.registered"]
    if not registered:
        return ["the register has it but the evidence has no `request.registered` event"]
    first = registered[0]
    if first["subject_ref"] != row["subject_ref"]:
        notes.append("the register's subject differs from the `request.registered` evidence")
    for column in ("received_on", "due_on"):
        recorded = first["details"].get(column)
        if recorded is not None and recorded != row[column].isoformat():
            notes.append(
                f"the register's {column} {row[column]} differs from the `request.registered` "
                f"evidence (row #{first['seq']}: {recorded})"
            )
    moves = [
        e["outcome"]
        for e in events
        if e["event"] == "request.registered"
        or e["event"].removeprefix("request.") in REGISTER_STATUSES
    ]
    if moves and moves[-1] != row["status"]:
        notes.append(
            f"the register says {row['status']!r}, the last status evidence says {moves[-1]!r}"
        )
    return notes


# ---- all together ------------------------------------------------------------------------------


@dataclass
class AuditStatus:
    chain: ChainStatus
    verification: VerificationStatus
    requests: RequestsStatus
    checked_at: datetime

    @property
    def findings(self) -> list[Finding]:
        return [*self.chain.findings, *self.verification.findings, *self.requests.findings]

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.problem]

    @property
    def flags(self) -> list[Finding]:
        return [f for f in self.findings if not f.problem]

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        """Honest: "intact" only when every check passed (the chain's own checks included)."""
        chain = self.chain.summary()
        if self.chain.ok and not self.ok:
            report = self.chain.report
            chain = (
                f"audit chain: {report.length} rows, hashes, anchors, triggers and mirrored "
                "tables check out; other checks failed (below), so it is not called intact"
            )
        lines = [
            chain,
            "read-backs: " + self.verification.summary(),
            "requests: " + self.requests.summary(),
        ]
        lines += [f"PROBLEM ({f.check}): {f.text}" for f in self.problems]
        lines += [f"flag ({f.check}): {f.text}" for f in self.flags]
        return lines


def check_all(
    engine: Engine,
    now: datetime,
    deadline_days: int = 28,
    grace: timedelta = VERIFY_GRACE,
    anchors: Sequence[Anchor] = (),
) -> AuditStatus:
    return AuditStatus(
        chain=check_chain(engine, anchors),
        verification=check_verifications(engine, now, grace),
        requests=check_requests(engine, now.date(), deadline_days),
        checked_at=now,
    )
