"""Our own redaction must not restart the retention clock.

Redacting a phone at 160 days is a write, and the vendor moves the contact's update time
(ActiveCampaign's `udate`, Google's `updateTime`) to "now". Without the clock ledger the contact
would then look brand new and its name, e-mail and IP would be kept 160 days too long. With it,
the contact is erased at 180 days after its real last activity, while a contact with real
activity after our write keeps its restarted clock.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from ks_privacy.hooks.google_contacts import GoogleContactsHook
from ks_privacy.ledger import ClockLedger
from ks_privacy.policy import Action, Facts, decide, last_activity
from ks_privacy.sources.base import Outcome, ScanWindow
from tests.fixtures.sandbox import NOW

SEED_COLUMNS = {
    "activecampaign": ("ac_id", "ac_updated"),
    "google_contacts": ("google_resource", "google_updated"),
}


def boundary_refs(vendors, source_name: str) -> tuple[str, str]:
    """Two seeded contacts with a phone whose last activity is 160 days ago (or a second
    either side of it): their phone is due today, nothing else is."""
    ref_column, time_column = SEED_COLUMNS[source_name]
    refs = []
    for age in (
        timedelta(days=160),
        timedelta(days=160, seconds=1),
        timedelta(days=160, seconds=-1),
    ):
        stamp = (NOW - age).strftime("%Y-%m-%dT%H:%M:%SZ")
        refs += [
            str(r[0])
            for r in vendors.sql(
                f"SELECT {ref_column} FROM seed_people WHERE {time_column} = ? AND held = 0 "
                "AND phones <> '[]'",
                stamp,
            )
        ]
    assert len(refs) >= 2, (source_name, refs)
    return refs[0], refs[1]


def new_activity(source, source_name: str, ref: str) -> None:
    """The person really does something: their contact is changed through the API."""
    if source_name == "activecampaign":
        source.hook.update_contact(ref, {"firstName": "Nieuw"})
    else:
        GoogleContactsHook().update_fields(ref, {"names": [{"givenName": "Nieuw"}]})


@pytest.mark.parametrize("source_name", ["activecampaign", "google_contacts"])
def test_our_redaction_does_not_restart_the_clock(
    vendors, build, policy, audit_engine, source_name
):
    clock = policy.sources[source_name].clock
    ledger = ClockLedger(audit_engine, source_name)
    quiet, active = boundary_refs(vendors, source_name)
    source = build(source_name)
    records = {r.ref: r for r in source.scan(ScanWindow())}

    # day 160: the phone is due, nothing else; we redact it and note the clock we had
    for ref in (quiet, active):
        record = records[ref]
        activity = last_activity(record.timestamps, clock)
        assert abs(NOW - activity - timedelta(days=160)) <= timedelta(seconds=1)
        decision = decide(policy, Facts(record.categories, activity, record.held), NOW)
        assert (decision.action, decision.categories) == (Action.REDACT, ("phone",))
        result = source.redact(ref, ["phone"])
        assert result.outcome == Outcome.REDACTED
        assert result.vendor_stamp_after == NOW  # the vendor's clock moved to its "now"
        with audit_engine.begin() as conn:
            ledger.record_write(conn, ref, activity, result.vendor_stamp_after)

    # day 170: the other person really does something; day 180: the next sweep
    vendors.set_now(NOW + timedelta(days=10))
    new_activity(source, source_name, active)
    later = NOW + timedelta(days=20)
    vendors.set_now(later)

    # the incremental scan's cutoff, as the sweep computes it (the processor's shortest term)
    processor = policy.processors[policy.sources[source_name].processor]
    shortest = min(policy.categories[c].term_days for c in processor.categories)
    cutoff = later + timedelta(days=policy.lead_time_days - shortest)
    extra = ledger.refs_due_by(cutoff)
    assert extra == {quiet, active}  # both were 160 days old when we wrote to them
    scanned = {r.ref: r for r in build(source_name).scan(ScanWindow(cutoff, extra))}
    # read although their vendor clocks say "20 days ago" and "10 days ago"
    assert {quiet, active} <= set(scanned)
    assert scanned[quiet].vendor_stamp > cutoff and scanned[active].vendor_stamp > cutoff
    after = {r.ref: r for r in build(source_name).scan(ScanWindow())}
    entries = ledger.lookup([quiet, active])
    decisions = {}
    for ref in (quiet, active):
        record = after[ref]
        assert "phone" not in record.categories
        computed = last_activity(record.timestamps, clock)
        effective = ClockLedger.effective_activity(computed, record.vendor_stamp, entries.get(ref))
        decisions[ref] = decide(policy, Facts(record.categories, effective, record.held), later)
        naive = decide(policy, Facts(record.categories, computed, record.held), later)
        assert naive.action == Action.KEEP  # what the vendor clock alone would say
    assert decisions[quiet].action == Action.ERASE
    assert decisions[quiet].age_days in (179, 180)  # 180 days, give or take the second
    assert decisions[active].action == Action.KEEP  # real activity after our write: restarted
    assert decisions[active].age_days == 10
