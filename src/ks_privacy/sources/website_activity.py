"""KlantenScoren's own website-activity store: page events with IP addresses, in SQL.

Retention works per day: a day's events are one record (`day:YYYY-MM-DD`) whose last activity
is the day's latest event, so a day goes when its last event is due, which with a daily sweep at
midnight is never later than any single event's term. Deletes run in bounded batches so no long
lock is held. A person's events (for requests) are the ones carrying their e-mail, and every
event of the visitor ids those events show (`visitor:<id>` records).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import Any

import sqlalchemy as sa
from airflow.sdk import BaseHook

from ks_privacy.audit_db import engine_for_url, url_from_airflow_connection
from ks_privacy.discovery import walk
from ks_privacy.discovery.sampling import Sample, Values
from ks_privacy.policy import SourcePolicy
from ks_privacy.pseudonym import normalise_email
from ks_privacy.sources.base import ActionResult, Outcome, ScanWindow, SourceRecord
from ks_privacy.timeutil import as_utc

DELETE_BATCH = 5000
CATEGORIES = frozenset({"website_activity", "ip_address"})
_optouts = sa.Table(
    "tracking_optouts",
    sa.MetaData(),
    sa.Column("subject_ref", sa.String(64), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
_events = sa.table(
    "page_events",
    sa.column("id"),
    # typed, so a bound value is an aware UTC instant in PostgreSQL (whatever the session's time
    # zone) and UTC wall-clock text in SQLite, as the store keeps it
    sa.column("occurred_at", sa.DateTime(timezone=True)),
    sa.column("visitor_id"),
    sa.column("contact_email"),
    sa.column("ip"),
    sa.column("path"),
)


def _day_bounds(ref: str) -> tuple[datetime, datetime]:
    """The UTC day a `day:` ref stands for, as [start, end)."""
    day = date.fromisoformat(ref.removeprefix("day:"))
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def _refs_where(refs: Sequence[str]):
    return sa.or_(*(_where(ref) for ref in refs)) if refs else sa.false()


def _where(ref: str):
    """The events a ref stands for."""
    if ref.startswith("day:"):
        start, end = _day_bounds(ref)
        return sa.and_(_events.c.occurred_at >= start, _events.c.occurred_at < end)
    if ref.startswith("visitor:"):
        return _events.c.visitor_id == ref.removeprefix("visitor:")
    raise ValueError(f"not a website-activity ref: {ref!r}")


class WebsiteActivitySource:
    name = "website_activity"
    manual_erasure = False
    one_record_per_person = False  # many visitors (browsers) per person
    erase_batch_size = 1  # one day (or visitor) per call; the call itself deletes in batches

    def __init__(self, policy: SourcePolicy, engine: sa.Engine | None = None):
        self.policy = policy
        self._engine = engine

    @cached_property
    def engine(self) -> sa.Engine:
        if self._engine is not None:
            return self._engine
        return engine_for_url(
            url_from_airflow_connection(BaseHook.get_connection(self.policy.connection))
        )

    def _day(self):
        """The UTC calendar day of an event, in SQL."""
        occurred = _events.c.occurred_at
        if self.engine.dialect.name == "postgresql":
            occurred = sa.func.timezone("UTC", occurred)  # not the session's time zone
        return sa.func.date(occurred)

    def total(self) -> int:
        """Records as `scan` counts them: days with events (the guard's denominator)."""
        days = sa.select(self._day().label("day")).distinct().subquery()
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(days)).scalar_one()

    @staticmethod
    def _categories(with_ip: int) -> frozenset[str]:
        return CATEGORIES if with_ip else CATEGORIES - {"ip_address"}

    def scan(self, window: ScanWindow) -> Iterator[SourceRecord]:
        """One record per UTC day. An incremental scan reads whole days up to the cutoff's day
        (so each day's latest event is its true latest), and the days in `extra_refs`."""
        day = self._day().label("day")
        with_ip = sa.func.count(sa.func.nullif(_events.c.ip, "")).label("with_ip")
        query = sa.select(day, sa.func.max(_events.c.occurred_at), with_ip).group_by(day)
        if not window.full:
            _, end = _day_bounds(f"day:{window.cutoff.astimezone(UTC).date().isoformat()}")
            extra = sorted(r for r in window.extra_refs if r.startswith("day:"))
            query = query.where(sa.or_(_events.c.occurred_at < end, _refs_where(extra)))
        with self.engine.connect() as conn:
            for day_value, latest, ip_count in conn.execute(query.order_by(day)):
                yield SourceRecord(
                    ref=f"day:{str(day_value)[:10]}",
                    email=None,
                    categories=self._categories(ip_count),
                    timestamps={"occurred": as_utc(latest)},
                    vendor_stamp=as_utc(latest),
                )

    def inventory(self, sample: Sample) -> Iterator[Values]:
        """Every page event, a day (a record, as `scan` counts them) at a time: for
        ks_data_inventory. Streamed from the database; a sample takes whole days."""
        columns = (_events.c.occurred_at, *(getattr(_events.c, n) for n in walk.WEBSITE_FIELDS))
        query = sa.select(*columns).order_by(_events.c.occurred_at, _events.c.id)
        current = None
        with self.engine.connect() as conn:
            rows = conn.execution_options(stream_results=True, yield_per=5000).execute(query)
            for occurred, *values in rows:
                ref = f"day:{as_utc(occurred).date().isoformat()}"
                if not sample.includes(ref):
                    continue
                pairs = list(
                    walk.website_event(dict(zip(walk.WEBSITE_FIELDS, values, strict=True)))
                )
                yield Values(ref, pairs, new_record=ref != current)
                current = ref

    def _visitors(self, email: str) -> list[str]:
        wanted = normalise_email(email)
        query = (
            sa.select(_events.c.visitor_id)
            .distinct()
            .where(sa.func.lower(sa.func.trim(_events.c.contact_email)) == wanted)
        )
        with self.engine.connect() as conn:
            return sorted(r[0] for r in conn.execute(query))

    def _state(self, conn, ref: str) -> tuple[int, int, datetime | None]:
        """(events, events with an IP address, latest event) of a ref."""
        events, with_ip, latest = conn.execute(
            sa.select(
                sa.func.count(),
                sa.func.count(sa.func.nullif(_events.c.ip, "")),
                sa.func.max(_events.c.occurred_at),
            ).where(_where(ref))
        ).one()
        return events, with_ip, as_utc(latest)

    def find(self, email: str) -> list[SourceRecord]:
        records = []
        with self.engine.connect() as conn:
            for visitor in self._visitors(email):
                ref = f"visitor:{visitor}"
                events, with_ip, latest = self._state(conn, ref)
                if not events:
                    continue
                records.append(
                    SourceRecord(
                        ref=ref,
                        email=normalise_email(email),
                        categories=self._categories(with_ip),
                        timestamps={"occurred": latest},
                        vendor_stamp=latest,
                    )
                )
        return records

    def present(self, refs: Sequence[str]) -> dict[str, frozenset[str] | None]:
        result: dict[str, frozenset[str] | None] = {}
        with self.engine.connect() as conn:
            for ref in refs:
                events, with_ip, _ = self._state(conn, ref)
                result[ref] = self._categories(with_ip) if events else None
        return result

    def export(self, email: str) -> dict[str, Any]:
        visitors = self._visitors(email)
        if not visitors:
            return {"page_events": []}
        query = (
            sa.select(
                _events.c.occurred_at,
                _events.c.visitor_id,
                _events.c.contact_email,
                _events.c.ip,
                _events.c.path,
            )
            .where(_events.c.visitor_id.in_(visitors))
            .order_by(_events.c.occurred_at, _events.c.id)
        )
        with self.engine.connect() as conn:
            events = [
                {
                    "occurred_at": as_utc(t).isoformat(),
                    "visitor_id": v,
                    "email": e,  # as the person typed it in a form, when they did
                    "ip": ip,
                    "path": p,
                }
                for t, v, e, ip, p in conn.execute(query)
            ]
        return {"page_events": events}

    def erase(self, refs: Sequence[str]) -> list[ActionResult]:
        results = []
        for ref in refs:
            deleted, batches = self._delete_in_batches(_where(ref))
            outcome = Outcome.ERASED if deleted else Outcome.ALREADY_ABSENT
            results.append(ActionResult(ref, outcome, {"events": deleted, "batches": batches}))
        return results

    def _delete_in_batches(self, condition) -> tuple[int, int]:
        """Delete in transactions of DELETE_BATCH rows: short locks, progress kept on a crash."""
        deleted = batches = 0
        while True:
            ids = sa.select(_events.c.id).where(condition).limit(DELETE_BATCH).scalar_subquery()
            with self.engine.begin() as conn:
                count = conn.execute(sa.delete(_events).where(_events.c.id.in_(ids))).rowcount
            if not count:
                return deleted, batches
            deleted += count
            batches += 1

    def redact(self, ref: str, categories: Sequence[str]) -> ActionResult:
        """Both categories share the term, so the policy erases; a partial redaction (the IP
        alone) blanks the addresses and keeps the page views. Page views cannot be emptied
        without deleting them: asked to, this fails rather than pretend."""
        unsupported = sorted(set(categories) - {"ip_address"})
        if unsupported:
            return ActionResult(
                ref,
                Outcome.FAILED,
                {"reason": f"cannot empty {','.join(unsupported)} without erasing"},
            )
        with self.engine.begin() as conn:
            if not conn.execute(sa.select(sa.func.count()).where(_where(ref))).scalar_one():
                return ActionResult(ref, Outcome.ALREADY_ABSENT)
            changed = conn.execute(
                sa.update(_events).where(_where(ref), _events.c.ip != "").values(ip="")
            ).rowcount
        return ActionResult(ref, Outcome.REDACTED, {"events": changed})

    def rectify(self, ref: str, changes: Mapping[str, str]) -> list[str]:
        if "email" not in changes:
            return []
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(_events)
                .where(_where(ref), _events.c.contact_email.isnot(None))
                .values(contact_email=changes["email"])
            )
        return ["email"]

    def withdraw_consent(self, email: str) -> dict[str, int]:
        """Stop tracking the person: an opt-out (their pseudonym, never the address) in the
        store's `tracking_optouts` table, which the site's tracker checks before recording."""
        from ks_privacy.pseudonym import pseudonymiser_from_airflow

        subject = pseudonymiser_from_airflow()(email)
        _optouts.create(self.engine, checkfirst=True)
        with self.engine.begin() as conn:
            known = conn.execute(
                sa.select(_optouts.c.subject_ref).where(_optouts.c.subject_ref == subject)
            ).first()
            if known is None:
                conn.execute(
                    sa.insert(_optouts).values(subject_ref=subject, created_at=datetime.now(UTC))
                )
        return {"visitors": len(self._visitors(email)), "tracking_optout": 1}
