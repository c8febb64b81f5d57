"""ks_retention_daily end to end (real Airflow dag.test, real PostgreSQL audit DB, the emulators
over HTTP): exactly what is due goes, across the 160/180-day boundaries and time zones."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import sqlalchemy as sa

from tests.fixtures.dagrun import task_states
from tests.fixtures.sandbox import NOW

DAY_MS = 86_400_000
NOW_MS = int(NOW.timestamp() * 1000)
PHONE_DUE, ALL_DUE = 159, 179  # days: the 160/180-day terms less the one-day lead time
OVERRIDE = {"override_guard": True}


def age_days(ms: int, now_ms: int = NOW_MS) -> float:
    return (now_ms - (ms // 1000) * 1000) / DAY_MS  # the APIs show whole seconds


def ac_snapshot(vendors) -> dict[int, tuple]:
    held = {
        r[0]
        for r in vendors.sql("SELECT ac_id FROM seed_people WHERE held = 1 AND ac_id IS NOT NULL")
    }
    return {
        cid: (phone, first, last, email, max(cdate, udate), cid in held)
        for cid, phone, first, last, email, cdate, udate in vendors.sql(
            "SELECT id, phone, first_name, last_name, email, cdate, udate FROM ac_contacts"
        )
    }


def google_snapshot(vendors) -> dict[str, tuple]:
    held = {
        r[0]
        for r in vendors.sql(
            "SELECT google_resource FROM seed_people WHERE held = 1 AND google_resource IS NOT NULL"
        )
    }
    return {
        f"people/{pid}": (json.loads(data), updated, f"people/{pid}" in held)
        for pid, data, updated in vendors.sql("SELECT person_id, data, update_time FROM g_people")
    }


def expected_ac(before: dict, now_ms: int = NOW_MS) -> tuple[set, set, set]:
    """(erased, phone redacted, untouched) contact ids, by the statement's terms."""
    erased, redacted, kept = set(), set(), set()
    for cid, (phone, *_rest, last, held) in before.items():
        age = age_days(last, now_ms)
        if held or age < PHONE_DUE:
            kept.add(cid)
        elif age >= ALL_DUE or not phone:
            erased.add(cid) if age >= ALL_DUE else kept.add(cid)
        else:
            redacted.add(cid)
    return erased, redacted, kept


def test_exactly_the_due_records_go(vendors, run_dag):
    ac_before, g_before = ac_snapshot(vendors), google_snapshot(vendors)
    chats_before = vendors.sql(
        "SELECT id, max(created_on, last_message_on), coalesce(visitor_phone, '') <> '' "
        "OR id IN (SELECT record_ref FROM seed_values WHERE system = 'tawk' "
        "AND category = 'phone') FROM tawk_chats"
    )
    days_before = vendors.website_sql("SELECT occurred_at FROM page_events")
    run = run_dag("ks_retention_daily", NOW, OVERRIDE, answers=vendors.tawk_answer())
    assert str(run.state) == "success", task_states(run)

    erased, redacted, kept = expected_ac(ac_before)
    assert erased and redacted and kept
    ac_after = ac_snapshot(vendors)
    assert set(ac_after) == redacted | kept
    for cid in redacted:
        assert ac_after[cid][0] == "" and ac_after[cid][1:4] == ac_before[cid][1:4]
    for cid in kept:
        assert ac_after[cid][:4] == ac_before[cid][:4]

    g_after = google_snapshot(vendors)
    for name, (person, updated, held) in g_before.items():
        age = age_days(updated)
        if held or age < PHONE_DUE:
            assert g_after[name][0] == person, name
        elif age >= ALL_DUE:
            assert name not in g_after, name
        else:
            assert "phoneNumbers" not in g_after[name][0]
            assert g_after[name][0].get("names") == person.get("names")

    chats_after = {c for (c,) in vendors.sql("SELECT id FROM tawk_chats")}
    for chat, last, has_phone in chats_before:
        # Tawk cannot redact a field: a chat goes whole when its first value is due (terms are
        # maximums, so early is allowed and late is not), a phone number typed in a message too
        due_at = PHONE_DUE if has_phone else ALL_DUE
        assert (chat in chats_after) is (age_days(last) < due_at), chat

    # website events go per day, once the day's latest event is due; none is ever kept late
    latest_per_day: dict = {}
    for (when,) in days_before:
        day = str(when)[:10]
        latest_per_day[day] = max(latest_per_day.get(day, str(when)), str(when))
    expected_days = {
        day
        for day, last in latest_per_day.items()
        if (NOW.replace(tzinfo=None) - datetime.fromisoformat(last[:19])).total_seconds()
        < ALL_DUE * 86400
    }
    remaining = vendors.website_sql("SELECT occurred_at FROM page_events")
    assert {str(w)[:10] for (w,) in remaining} == expected_days
    assert len(remaining) < len(days_before)
    oldest = min(datetime.fromisoformat(str(w)[:19]) for (w,) in remaining)
    assert NOW.replace(tzinfo=None) - oldest < timedelta(days=180)


def test_phone_goes_at_160_days_and_the_contact_at_180_days_later(vendors, run_dag):
    ac_before = ac_snapshot(vendors)
    _, redacted, _ = expected_ac(ac_before)
    first = run_dag("ks_retention_daily", NOW, OVERRIDE, answers=vendors.tawk_answer())
    assert str(first.state) == "success"
    assert all(ac_snapshot(vendors)[cid][0] == "" for cid in redacted)
    later = NOW + timedelta(days=20)
    vendors.set_now(later)
    second = run_dag(
        "ks_retention_daily", later, {**OVERRIDE, "full_scan": "no"}, answers=vendors.tawk_answer()
    )
    assert str(second.state) == "success", task_states(second)
    remaining = ac_snapshot(vendors)
    for cid in redacted:
        # our redaction bumped `udate` to the first run's day; the clock must not restart
        assert cid not in remaining, f"contact {cid} was redacted at 160 days but not erased at 180"


def test_guard_trips_on_an_implausible_plan_and_deletes_nothing(vendors, run_dag, task_output):
    ac_before, g_before = ac_snapshot(vendors), google_snapshot(vendors)
    run = run_dag("ks_retention_daily", NOW, {"sources": ["activecampaign", "google_contacts"]})
    assert str(run.state) == "failed"
    states = task_states(run)
    assert states["activecampaign.guard"] == "failed"
    assert states["activecampaign.apply"] == "upstream_failed"
    assert ac_snapshot(vendors) == ac_before and google_snapshot(vendors) == g_before
    output = task_output()
    assert "guard tripped for source activecampaign" in output
    assert "override_guard=true" in output


def test_dry_run_deletes_nothing_and_says_so(vendors, run_dag, task_output):
    ac_before, g_before = ac_snapshot(vendors), google_snapshot(vendors)
    chats = vendors.sql("SELECT count(*) FROM tawk_chats")
    run = run_dag("ks_retention_daily", NOW, {"dry_run": True})
    assert str(run.state) == "success", task_states(run)
    assert ac_snapshot(vendors) == ac_before and google_snapshot(vendors) == g_before
    assert vendors.sql("SELECT count(*) FROM tawk_chats") == chats
    output = task_output()
    assert "DRY RUN: nothing deleted" in output
    assert "erase.dry_run" in output


def test_a_second_run_for_the_same_day_does_nothing_new(vendors, run_dag):
    run_dag("ks_retention_daily", NOW, OVERRIDE, answers=vendors.tawk_answer())
    after_first = ac_snapshot(vendors), google_snapshot(vendors)
    engine = sa.create_engine(vendors.audit_url)
    second = run_dag("ks_retention_daily", NOW, OVERRIDE, answers=vendors.tawk_answer())
    assert str(second.state) == "success", task_states(second)
    assert (ac_snapshot(vendors), google_snapshot(vendors)) == after_first
    with engine.connect() as conn:
        intents = conn.execute(
            sa.text("SELECT count(*) FROM ks_evidence WHERE run_id = :r AND event LIKE '%.intent'"),
            {"r": second.run_id},
        ).scalar_one()
    assert intents == 0
    engine.dispose()


def test_no_personal_data_in_logs_xcom_plan_or_audit_tables(vendors, run_dag, task_output):
    from tests.fixtures.pii import audit_tables_text, found_in, seeded_values, xcom_text

    values = seeded_values(vendors)
    run = run_dag("ks_retention_daily", NOW, OVERRIDE, answers=vendors.tawk_answer())
    assert str(run.state) == "success"
    output = task_output()
    assert "erase.outcome" in output
    assert found_in(output, values) == []
    assert found_in(xcom_text(), values) == []
    assert found_in(audit_tables_text(vendors.audit_url), values) == []
