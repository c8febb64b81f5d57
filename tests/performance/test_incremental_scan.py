"""The daily incremental scan reads only what may be due, and still finds everything the weekly
full scan finds: the records whose vendor clock is old enough, and the records we redacted
earlier, whose vendor clock our own write made look new (the clock ledger brings those back).

Two scans of the same state under different run ids, one incremental and one full, must plan
exactly the same refs with the same decisions; the full scan must record no record as missed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from ks_privacy import sweep
from ks_privacy.audit_db import engine_for_url
from ks_privacy.evidence import AuditTrail, RunContext
from ks_privacy.hooks.google_contacts import GoogleContactsHook
from ks_privacy.ledger import ClockLedger
from ks_privacy.policy import last_activity, load_policy
from ks_privacy.pseudonym import Pseudonymiser
from ks_privacy.sources import build_source
from ks_privacy.sources.activecampaign import updated_before_date
from ks_privacy.sources.base import ScanWindow
from tests.fixtures.sandbox import NOW, PSEUDONYM_KEY

SOURCES = ("activecampaign", "google_contacts")


def make_step(audit_url, source_name: str, run_id: str, now: datetime) -> sweep.SweepStep:
    policy = load_policy()
    engine = engine_for_url(audit_url)
    return sweep.SweepStep(
        policy=policy,
        source_name=source_name,
        source=build_source(policy, source_name),
        engine=engine,
        trail=AuditTrail(engine, RunContext("ks_retention_daily", run_id, "scan", 1)),
        pseudonymise=Pseudonymiser(PSEUDONYM_KEY),
        now=now,
        dry_run=False,
    )


def planned(step: sweep.SweepStep) -> dict[str, tuple[str, str]]:
    """ref -> (action, categories) of the step's run."""
    with step.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT record_ref, action, categories FROM ks_plan WHERE run_id = :run "
                "AND source = :source"
            ),
            {"run": step.trail.context.run_id, "source": step.source_name},
        )
        return {ref: (action, categories) for ref, action, categories in rows}


def outcomes(step: sweep.SweepStep, outcome: str) -> list[str]:
    with step.engine.connect() as conn:
        return sorted(
            r[0]
            for r in conn.execute(
                sa.text(
                    "SELECT record_ref FROM ks_plan WHERE run_id = :run AND source = :source "
                    "AND outcome = :outcome"
                ),
                {"run": step.trail.context.run_id, "source": step.source_name, "outcome": outcome},
            )
        )


def touch(source_name: str, ref: str) -> None:
    """The person really does something: their contact changes through the API."""
    if source_name == "activecampaign":
        build_source(load_policy(), source_name).hook.update_contact(ref, {"firstName": "Nieuw"})
    else:
        GoogleContactsHook().update_fields(ref, {"names": [{"givenName": "Nieuw"}]})


def delete_outside_the_sweep(source_name: str, ref: str) -> None:
    if source_name == "activecampaign":
        build_source(load_policy(), source_name).hook.delete_contact(ref)
    else:
        GoogleContactsHook().batch_delete([ref])


@pytest.mark.parametrize("source_name", SOURCES)
def test_incremental_plans_exactly_what_the_full_scan_plans(make_vendors, audit_url, source_name):
    vendors = make_vendors(contacts=300)
    # day 0: a sweep erases what is due and redacts phones that reached 160 days; the vendor
    # moves those contacts' update time to day 0, the clock ledger keeps their real activity
    first = make_step(audit_url, source_name, "day-0", NOW)
    sweep.scan(first, full_scan=True)
    sweep.guard(first, override=True)
    sweep.apply(first)
    sweep.verify(first)
    redacted = outcomes(first, "redacted")
    assert len(redacted) >= 4
    ledger = ClockLedger(first.engine, source_name)
    assert set(ledger.lookup(redacted)) == set(redacted)

    # day 10: one of them comes back (real activity: their clock restarts); another one is
    # deleted by someone in the vendor's own UI
    vendors.set_now(NOW + timedelta(days=10))
    came_back, deleted = redacted[0], redacted[1]
    touch(source_name, came_back)
    delete_outside_the_sweep(source_name, deleted)

    # day 20: the others are 180 days past their real activity, so due for erasure, while their
    # vendor clock says "20 days ago": only the ledger can bring them to an incremental scan
    later = NOW + timedelta(days=20)
    vendors.set_now(later)
    incremental = make_step(audit_url, source_name, "day-20-incremental", later)
    full = make_step(audit_url, source_name, "day-20-full", later)
    inc_summary = sweep.scan(incremental, full_scan=False)
    full_summary = sweep.scan(full, full_scan=True)

    inc_plan, full_plan = planned(incremental), planned(full)
    assert inc_plan == full_plan
    assert full_summary.get("missed_by_incremental", 0) == 0
    assert inc_summary["erase"] == full_summary["erase"] > 0
    assert inc_summary["scanned"] < full_summary["scanned"]  # it really is incremental
    earlier = set(redacted) - {came_back, deleted}
    assert earlier and all(inc_plan[ref][0] == "erase" for ref in earlier)
    cutoff = incremental.incremental_cutoff()
    now_read = build_source(load_policy(), source_name).scan(ScanWindow())
    stamps = [r.vendor_stamp for r in now_read if r.ref in earlier]
    assert len(stamps) == len(earlier)
    assert all(stamp > cutoff for stamp in stamps)  # invisible to the vendor's filter
    assert came_back not in inc_plan  # its clock restarted on day 10
    # the ledger forgets what can no longer matter: the one who came back, the one deleted
    assert set(ledger.lookup([came_back, deleted])) == set()
    assert earlier <= set(ledger.lookup(sorted(earlier)))


@pytest.mark.parametrize("zone", ["+14:00", "-12:00", "Asia/Kathmandu"])
def test_incremental_scan_reads_every_contact_up_to_the_cutoff_in_any_account_zone(
    make_vendors, zone
):
    """ActiveCampaign's date filter is read in the account's time zone: whatever the zone, the
    incremental scan returns every contact whose clock is at or before the cutoff."""
    vendors = make_vendors(contacts=300)
    vendors.sql("UPDATE settings SET value = ? WHERE key = 'ac_timezone'", json.dumps(zone))
    policy = load_policy()
    clock = policy.sources["activecampaign"].clock
    source = build_source(policy, "activecampaign")
    full = {r.ref: last_activity(r.timestamps, clock) for r in source.scan(ScanWindow())}
    ordered = sorted(full.values())
    for cutoff in (NOW - timedelta(days=159), ordered[len(ordered) // 3], ordered[-40]):
        got = {r.ref for r in build_source(policy, "activecampaign").scan(ScanWindow(cutoff))}
        must = {ref for ref, clock_at in full.items() if clock_at <= cutoff}
        assert must <= got, (zone, cutoff)
        over = {ref for ref in got - must if full[ref] - cutoff > timedelta(hours=27)}
        assert not over, "the filter reads at most about a day past the cutoff"


ZONES = (
    "Pacific/Kiritimati",  # UTC+14
    "Pacific/Pago_Pago",  # UTC-11
    "America/Chicago",
    "Europe/Amsterdam",
    "Australia/Lord_Howe",  # a half-hour daylight-saving change
    "Asia/Kathmandu",  # UTC+5:45
    "America/St_Johns",  # UTC-3:30 / -2:30
)


@pytest.mark.parametrize("zone", ZONES)
def test_the_date_filter_starts_after_the_cutoff_whatever_the_zone_and_season(zone):
    """`filters[updated_before]=D` means before midnight starting D in the account's zone. The
    date asked for is after the cutoff there, whichever season the contact that showed the zone's
    offset was from, and at most about a day after it."""
    tz = ZoneInfo(zone)
    offsets = {datetime(2026, month, 15, 12, tzinfo=tz).utcoffset() for month in (1, 7)}
    cutoffs = [
        datetime(2026, month, day, hour, minute, tzinfo=UTC)
        for month, day in ((3, 28), (3, 29), (4, 5), (6, 1), (10, 25), (11, 1), (12, 31))
        for hour in range(24)
        for minute in (0, 1, 59)
    ]
    for offset in (*offsets, None):
        for cutoff in cutoffs:
            day = updated_before_date(cutoff, offset)
            midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
            assert midnight > cutoff, (offset, cutoff)
            if offset is not None:
                assert midnight - cutoff <= timedelta(hours=27), (offset, cutoff)
