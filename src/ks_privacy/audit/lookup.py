"""Lookup: "what happened to this person?", from an e-mail address to its pseudonym to its
evidence.

The address is only ever held in memory long enough to compute the pseudonym (HMAC-SHA256 with
the key in Airflow variable `ks_pseudonym_key`); it is never stored, logged or returned. A lookup
reveals things about a person (a legal hold, a request), so every lookup is itself evidence
(`audit.lookup`: who, when, which pseudonym; never the address), and each user may look up at
most `LOOKUPS_PER_HOUR` people an hour (counted from that evidence, so every api-server worker
and the CLI share one budget).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ks_privacy.audit import store
from ks_privacy.audit_db import connection
from ks_privacy.evidence import AuditTrail, Evidence, RunContext, canonical_details
from ks_privacy.pseudonym import Pseudonymiser, pseudonymiser_from_airflow

MAX_EMAIL_LENGTH = 254
LOOKUP_EVENT = "audit.lookup"
LOOKUPS_PER_HOUR = 30  # default; Airflow config [ks_privacy] lookups_per_hour overrides it
_SAFE_ACTOR = re.compile(r"^[\w .:+-]{1,64}$")


class NotAnEmail(ValueError):
    """The input does not look like an e-mail address (the message never repeats it)."""


def pseudonym_of(email: str, pseudonymise: Pseudonymiser | None = None) -> str:
    text = (email or "").strip()
    if (
        not text
        or len(text) > MAX_EMAIL_LENGTH
        or "@" not in text
        or any(c.isspace() for c in text)
    ):
        raise NotAnEmail("that does not look like an e-mail address")
    return (pseudonymise or pseudonymiser_from_airflow())(text)


@dataclass
class PersonHistory:
    subject_ref: str
    evidence: list[dict] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)

    def by_source(self) -> dict[str, dict[str, int]]:
        """Per source: how many of this person's records were erased, redacted, held, ..."""
        out: dict[str, dict[str, int]] = {}
        for row in self.evidence:
            if row["event"].endswith(".intent"):
                continue
            counts = out.setdefault(row["source"] or "(requests)", {})
            key = f"{row['event']} {row['outcome']}"
            counts[key] = counts.get(key, 0) + 1
        return out

    def lines(self) -> list[str]:
        lines = [f"pseudonym {self.subject_ref}: {len(self.evidence)} evidence rows"]
        for source, counts in sorted(self.by_source().items()):
            summary = ", ".join(f"{n}x {k}" for k, n in sorted(counts.items()))
            lines.append(f"  {source}: {summary}")
        for req in self.requests:
            lines.append(
                f"  request {req['request_ref']} ({req['kind']}): received {req['received_on']}, "
                f"due {req['due_on']}, status {req['status']}"
                + (f", closed {req['closed_at'].date()}" if req["closed_at"] else "")
            )
        for row in self.evidence:
            lines.append(
                f"  #{row['seq']} {row['recorded_at']:%Y-%m-%d %H:%M:%S} {row['event']} "
                f"{row['outcome']} source={row['source'] or '-'} ref={row['record_ref'] or '-'} "
                f"categories={row['categories'] or '-'} rule={row['rule'] or '-'} "
                f"age_days={'-' if row['age_days'] is None else row['age_days']} "
                f"run={row['dag_id']}/{row['run_id']}"
            )
        return lines


def history(engine: Engine, subject_ref: str, limit: int = 5000) -> PersonHistory:
    """What the suite did with this person's data (lookups by auditors are not part of it)."""
    flt = store.EvidenceFilter(subject_ref=subject_ref)
    rows = [r for r in reversed(store.page(engine, flt, limit)) if r["event"] != LOOKUP_EVENT]
    requests = store.requests_register(engine, subject_ref)
    return PersonHistory(subject_ref, rows, requests)


def actor(user_id: str) -> str:
    """Who looked up, as the evidence records it: the auth manager's user id when it is a plain
    id, else a hash of it (an id that is an e-mail address must not enter the trail)."""
    text = str(user_id or "").strip()
    if _SAFE_ACTOR.match(text):
        return text
    return "user-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def lookups_per_hour() -> int:
    try:
        from airflow.configuration import conf

        return conf.getint("ks_privacy", "lookups_per_hour", fallback=LOOKUPS_PER_HOUR)
    except Exception:  # no Airflow configuration here (a bare CLI)
        return LOOKUPS_PER_HOUR


class TooManyLookups(RuntimeError):
    """The user's lookups in the last hour reached the limit."""


def check_rate(engine: Engine, who: str, now: datetime | None = None) -> None:
    """Raise TooManyLookups when `who` already looked up `lookups_per_hour()` people in the
    last hour. Asked before the address is even read into a pseudonym."""
    now = now or datetime.now(UTC)
    limit = lookups_per_hour()
    with connection(engine) as conn:
        done = conn.execute(
            sa.text(
                "SELECT COUNT(*) FROM ks_evidence WHERE event = :e AND details = :d "
                "AND recorded_at >= :since"
            ),
            {
                "e": LOOKUP_EVENT,
                "d": canonical_details({"by": who}),
                "since": now - timedelta(hours=1),
            },
        ).scalar()
    if done >= limit:
        raise TooManyLookups(f"{who} has looked up {done} people in the last hour (limit {limit})")


def record_lookup(engine: Engine, subject_ref: str, who: str, channel: str) -> int:
    """The lookup as evidence, before its answer is shown. Returns the evidence row's seq."""
    trail = AuditTrail(engine, RunContext("ks_audit", channel, "lookup", 0))
    (seq,) = trail.append(
        [
            Evidence(
                event=LOOKUP_EVENT,
                outcome="looked_up",
                source=channel,
                subject_ref=subject_ref,
                details={"by": who},
            )
        ]
    )
    return seq
