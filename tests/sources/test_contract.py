"""The Source contract (ks_privacy/sources/base.py), one suite for all four sources, against the
sandbox emulators over HTTP. Every expectation is computed from the sandbox's own tables."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from ks_privacy.policy import last_activity
from ks_privacy.pseudonym import normalise_email
from ks_privacy.sources.base import Outcome, ScanWindow, Source, SourceRecord
from ks_privacy.sources.tawk import NoDeleteApi
from tests.fixtures.sandbox import NOW
from tests.sources.truth import (
    emails_in,
    expected,
    person_refs,
    stored_emails,
)

SUBSTRING_PAIRS = (("an", "jan"), ("ram", "bram"), ("len", "ellen"))
MISSING_REF = {
    "activecampaign": "987654",
    "google_contacts": "people/c4611686018427387905",
    "tawk": "ffffffffffffffffffffffff",
    "website_activity": "day:1999-01-01",
}
# what each source can empty through its API without deleting the record
REDACTABLE = {
    "activecampaign": ("phone", "name"),
    "google_contacts": ("phone", "address", "gender", "name", "email"),
    "website_activity": ("ip_address",),
}


def scan_all(source: Source, window: ScanWindow | None = None) -> dict[str, SourceRecord]:
    records: dict[str, SourceRecord] = {}
    for record in source.scan(window or ScanWindow()):
        assert record.ref not in records, f"{record.ref} returned twice"
        records[record.ref] = record
    return records


def clock_of(policy, source_name: str, timestamps) -> datetime | None:
    return last_activity(dict(timestamps), policy.sources[source_name].clock)


# ---- scan ---------------------------------------------------------------------------------------


def test_full_scan_returns_every_record_with_its_categories(vendors, source, source_name):
    truth = expected(vendors, source_name)
    records = scan_all(source)
    assert len(truth) > 50
    assert set(records) == set(truth)
    wrong = {ref: (r.categories, truth[ref].categories) for ref, r in records.items()}
    wrong = {ref: pair for ref, pair in wrong.items() if pair[0] != pair[1]}
    assert wrong == {}
    # the e-mail travels with the record (for the pseudonym), as stored, whatever its spelling
    for ref, record in records.items():
        found = normalise_email(record.email) if record.email else None
        assert found == truth[ref].email, ref


def test_full_scan_timestamps_are_utc_and_equal_to_the_stored_instant(vendors, source, source_name):
    truth = expected(vendors, source_name)
    records = scan_all(source)
    for ref, record in records.items():
        for name, expected_time in truth[ref].timestamps.items():
            value = record.timestamps[name]
            assert value is not None and value.utcoffset() == timedelta(0), (ref, name)
            assert value == expected_time, (ref, name, value, expected_time)
        # every source has a vendor clock (the one our writes bump): there, and in UTC
        assert record.vendor_stamp is not None, ref
        assert record.vendor_stamp.utcoffset() == timedelta(0), ref


def test_activecampaign_offsets_are_normalised_to_utc(vendors, build):
    """AC prints times in the account zone (America/Chicago: -05:00 in summer, -06:00 in winter);
    the record must hold the same instant in UTC."""
    source = build("activecampaign")
    raw = {c["id"]: c for c in source.hook.iter_contacts()}
    offsets = {c["udate"][-6:] for c in raw.values()} | {c["cdate"][-6:] for c in raw.values()}
    assert {"-05:00", "-06:00"} <= offsets
    stored = {str(r[0]): r[1:] for r in vendors.sql("SELECT id, cdate, udate FROM ac_contacts")}
    for record in source.scan(ScanWindow()):
        cdate, udate = stored[record.ref]
        assert record.timestamps["created"] == datetime.fromtimestamp(cdate / 1000, UTC)
        assert record.timestamps["updated"] == datetime.fromtimestamp(udate / 1000, UTC)
        text = raw[record.ref]["udate"]
        assert record.timestamps["updated"] == datetime.fromisoformat(text)
        assert record.timestamps["updated"].tzinfo is UTC


def test_legal_hold_matches_the_seed(vendors, source, source_name):
    records = scan_all(source)
    column = {"activecampaign": "ac_id", "google_contacts": "google_resource"}.get(source_name)
    held = {ref for ref, r in records.items() if r.held}
    if column is None:  # Tawk and the website store have no legal-hold mark
        assert held == set()
        return
    seeded = {
        str(ref): bool(h) for ref, h in vendors.sql(f"SELECT {column}, held FROM seed_people")
    }
    seeded_held = {ref for ref, h in seeded.items() if h and ref in records}
    assert len(seeded_held) >= 2
    assert held == seeded_held
    truth = expected(vendors, source_name)
    assert held == {ref for ref, e in truth.items() if e.held}


def test_total_equals_what_the_source_holds(vendors, source, source_name):
    assert source.total() == len(expected(vendors, source_name)) == len(scan_all(source))


def test_incremental_scan_returns_everything_that_may_be_due(vendors, source, source_name, policy):
    full = scan_all(source)
    clocks = {ref: clock_of(policy, source_name, r.timestamps) for ref, r in full.items()}
    ordered = sorted(t for t in clocks.values() if t is not None)
    # the 160- and 180-day edges (the seed puts people exactly on them) and a record's own clock
    cutoffs = [NOW - timedelta(days=160), NOW - timedelta(days=180), ordered[len(ordered) // 3]]
    for cutoff in cutoffs:
        late = sorted(ref for ref, t in clocks.items() if t is not None and t > cutoff)
        extra = frozenset(late[:3])
        window = ScanWindow(cutoff, extra)
        got = scan_all(source, window)
        must = {ref for ref, t in clocks.items() if t is not None and t <= cutoff} | extra
        assert must - set(got) == set(), cutoff
        # what it returns is the truth about those records, not a partial view of them
        for ref, record in got.items():
            assert record == full[ref], ref
        assert len(got) < len(full), "an incremental scan that reads everything is a full scan"


# ---- find ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("short", "long"), SUBSTRING_PAIRS)
def test_find_never_returns_the_substring_partner(vendors, source, source_name, short, long):
    short_email, long_email = f"{short}@xs4all.nl", f"{long}@xs4all.nl"
    want_short = person_refs(vendors, source_name, short_email)
    want_long = person_refs(vendors, source_name, long_email)
    if source_name != "website_activity":  # the seed puts these people in every vendor
        assert want_short and want_long
    found_short = {r.ref for r in source.find(short_email)}
    found_long = {r.ref for r in source.find(long_email)}
    assert found_short == want_short
    assert found_long == want_long
    assert not found_short & want_long


def test_find_matches_the_address_however_it_was_typed(vendors, source, source_name):
    messy = [(n, s) for n, s in stored_emails(vendors, source_name) if s != n]
    assert messy, "the seed types some addresses with capitals or spaces"
    for normal, as_stored in messy[:3]:
        want = person_refs(vendors, source_name, normal)
        assert want
        for spelling in (normal, as_stored, f"  {normal.upper()} "):
            records = source.find(spelling)
            assert {r.ref for r in records} == want, spelling
            assert all(r.email is None or normalise_email(r.email) == normal for r in records)


def test_find_unknown_address_finds_nothing(source):
    assert source.find("nobody-at-all@example.invalid") == []


# ---- present, erase, redact ---------------------------------------------------------------------


def test_present_reports_categories_and_none_for_what_is_gone(vendors, source, source_name):
    truth = expected(vendors, source_name)
    refs = sorted(truth)[:5]
    result = source.present([*refs, MISSING_REF[source_name]])
    assert result == {
        **{ref: truth[ref].categories for ref in refs},
        MISSING_REF[source_name]: None,
    }


def test_erase_then_erase_again_is_already_absent(vendors, source, source_name):
    truth = expected(vendors, source_name)
    first, second = sorted(truth)[:2]
    if source.manual_erasure:
        with pytest.raises(NoDeleteApi, match="no delete method"):
            source.erase([first])
        assert source.present([first])[first] is not None
        assert vendors.dashboard_delete([first, second]) == 2
        assert source.present([first, second]) == {first: None, second: None}
        assert first not in expected(vendors, source_name)
        return
    results = source.erase([first])
    assert [(r.ref, r.outcome) for r in results] == [(first, Outcome.ERASED)]
    assert first not in expected(vendors, source_name)
    again = source.erase([first, second])
    assert sorted((r.ref, r.outcome) for r in again) == sorted(
        [(first, Outcome.ALREADY_ABSENT), (second, Outcome.ERASED)]
    )
    left = expected(vendors, source_name)
    assert first not in left and second not in left
    assert len(left) == len(truth) - 2
    assert source.present([first, second]) == {first: None, second: None}
    assert source.erase([]) == []


def test_redact_empties_exactly_the_named_categories(vendors, source, source_name):
    truth = expected(vendors, source_name)
    if source_name not in REDACTABLE:
        ref = sorted(truth)[0]
        with pytest.raises(NoDeleteApi):
            source.redact(ref, ["phone"])
        assert expected(vendors, source_name)[ref] == truth[ref]
        return
    redactable = REDACTABLE[source_name]
    for category in redactable:
        ref = next(
            ref
            for ref, e in sorted(truth.items())
            if category in e.categories and len(e.categories) > 1
        )
        result = source.redact(ref, [category])
        assert result.outcome == Outcome.REDACTED, (category, result)
        after = expected(vendors, source_name)
        assert after[ref].categories == truth[ref].categories - {category}, category
        assert source.present([ref])[ref] == truth[ref].categories - {category}
        # no other record changed
        others = {r: e for r, e in after.items() if r != ref}
        assert others == {r: e for r, e in truth.items() if r != ref}
        truth = after
    gone = MISSING_REF[source_name]
    assert source.redact(gone, [redactable[0]]).outcome in (
        Outcome.ALREADY_ABSENT,
        Outcome.REDACTED,  # the website store: an update of no rows
    )


@pytest.mark.parametrize(
    ("source_name", "unsupported"),
    [("activecampaign", "ip_address"), ("website_activity", "website_activity")],
)
def test_redact_refuses_what_it_cannot_empty(vendors, source, source_name, unsupported):
    """A category the API cannot empty is FAILED, never a silent REDACTED. (Google can empty
    every category it holds; Tawk can change nothing and says so: see above.)"""
    truth = expected(vendors, source_name)
    ref = next(r for r, e in sorted(truth.items()) if unsupported in e.categories)
    result = source.redact(ref, [unsupported])
    assert result.outcome == Outcome.FAILED
    assert expected(vendors, source_name)[ref] == truth[ref]


# ---- export -------------------------------------------------------------------------------------


def _person_for_export(vendors, source_name):
    """A seeded person with a phone in this source, and their values as seeded."""
    if source_name == "website_activity":
        rows = vendors.website_sql(
            "SELECT contact_email FROM page_events WHERE contact_email IS NOT NULL "
            "ORDER BY id LIMIT 1"
        )
        email = normalise_email(rows[0][0])
        return {"email": email}
    column = {"activecampaign": "ac_id", "google_contacts": "google_resource", "tawk": "tawk_email"}
    rows = vendors.sql(
        "SELECT email, first_name, last_name, phones FROM seed_people "
        f"WHERE {column[source_name]} IS NOT NULL AND phones <> '[]' AND held = 0 "
        "AND email NOT LIKE '%xs4all.nl' ORDER BY person_id LIMIT 1"
    )
    email, first, last, phones = rows[0]
    return {"email": email, "first": first, "last": last, "phone": json.loads(phones)[0]}


def test_export_holds_that_persons_data_and_nobody_elses(vendors, source, source_name):
    person = _person_for_export(vendors, source_name)
    export = source.export(person["email"])
    text = json.dumps(export, ensure_ascii=False)
    assert emails_in(export) == {person["email"]}
    if source_name == "website_activity":
        visitors = {
            r.removeprefix("visitor:") for r in person_refs(vendors, source_name, person["email"])
        }
        events = vendors.website_sql(
            "SELECT visitor_id, ip, path FROM page_events WHERE visitor_id IN "
            f"({','.join(repr(v) for v in sorted(visitors))})"
        )
        assert len(export["page_events"]) == len(events) > 0
        assert {(e["visitor_id"], e["ip"], e["path"]) for e in export["page_events"]} == set(events)
        return
    assert person["first"] in text and person["last"] in text
    if source_name != "tawk":  # Tawk keeps a phone only when the visitor typed one
        assert person["phone"] in text
    others = {n for n, _ in stored_emails(vendors, source_name)} - {person["email"]}
    assert not emails_in(export) & others
    assert source.export("nobody-at-all@example.invalid") == {k: [] for k in export}
