"""The website-activity store in PostgreSQL, as in production: days are UTC days whatever the
database session's time zone, and a day is erased whole."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from ks_privacy.sources.base import Outcome, ScanWindow
from ks_privacy.sources.website_activity import WebsiteActivitySource
from sandbox.seed import seed
from tests.fixtures.sandbox import NOW


def test_postgres_days_are_utc_days_in_any_session_time_zone(make_pg_database, policy, tmp_path):
    url = make_pg_database()
    seed(tmp_path / "sandbox.db", url, contacts=120, seed=7, now=NOW)
    engines = {
        zone: sa.create_engine(url, connect_args={"options": f"-c timezone={zone}"})
        for zone in ("UTC", "Pacific/Auckland", "America/Chicago")
    }
    try:
        with engines["UTC"].connect() as conn:
            events = conn.execute(sa.text("SELECT occurred_at FROM page_events")).scalars().all()
        days = defaultdict(list)
        for when in events:
            days[f"day:{when.astimezone(UTC).date().isoformat()}"].append(when.astimezone(UTC))
        truth = {ref: max(times) for ref, times in days.items()}
        # grouped by the session's calendar day, Auckland's days would be other days
        auckland = {t.astimezone(ZoneInfo("Pacific/Auckland")).date().isoformat() for t in events}
        assert auckland != {ref.removeprefix("day:") for ref in truth}

        scans = {}
        for zone, engine in engines.items():
            source = WebsiteActivitySource(policy.sources["website_activity"], engine)
            scans[zone] = {r.ref: r.timestamps["occurred"] for r in source.scan(ScanWindow())}
            assert source.total() == len(truth), zone
        assert scans["UTC"] == scans["Pacific/Auckland"] == scans["America/Chicago"] == truth

        source = WebsiteActivitySource(
            policy.sources["website_activity"], engines["Pacific/Auckland"]
        )
        cutoff = NOW - timedelta(days=180)
        due = {ref for ref, t in truth.items() if t <= cutoff}
        incremental = {r.ref: r.timestamps["occurred"] for r in source.scan(ScanWindow(cutoff))}
        assert due <= set(incremental)
        assert all(truth[ref] == t for ref, t in incremental.items())

        ref = sorted(due)[-1]
        count = len(days[ref])
        [result] = source.erase([ref])
        assert (result.outcome, result.details["events"]) == (Outcome.ERASED, count)
        assert source.present([ref]) == {ref: None}
        with engines["UTC"].connect() as conn:
            left = conn.execute(sa.text("SELECT count(*) FROM page_events")).scalar_one()
        assert left == len(events) - count
    finally:
        for engine in engines.values():
            engine.dispose()
