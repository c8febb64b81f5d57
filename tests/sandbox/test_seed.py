"""The seed: reproducible, and shaped so sweeps meet every awkward case (boundary ages, legal
holds, people in several systems, odd values)."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from sandbox import website
from sandbox.seed import seed
from sandbox.store import DATA_TABLES
from tests.sandbox.helpers import NOW, NOW_DT, truth

BOUNDARIES = [timedelta(days=d) for d in (159, 160, 161, 179, 180, 181)] + [
    timedelta(days=160, seconds=-1),
    timedelta(days=160, seconds=1),
    timedelta(days=180, seconds=-1),
    timedelta(days=180, seconds=1),
]


def _dump(db) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(db)
    try:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in DATA_TABLES}
    finally:
        conn.close()


def _ages(db, column: str) -> set[timedelta]:
    rows = truth(db, f"SELECT {column} FROM seed_people WHERE {column} IS NOT NULL")
    return {NOW_DT - datetime.fromisoformat(r[0].replace("Z", "+00:00")) for r in rows}


def test_same_seed_same_data_other_seed_other_data(tmp_path):
    kwargs = {"contacts": 80, "now": NOW}
    seed(tmp_path / "a.db", f"sqlite:///{tmp_path / 'a-web.db'}", seed=7, **kwargs)
    seed(tmp_path / "b.db", f"sqlite:///{tmp_path / 'b-web.db'}", seed=7, **kwargs)
    seed(tmp_path / "c.db", f"sqlite:///{tmp_path / 'c-web.db'}", seed=8, **kwargs)
    a, b, c = _dump(tmp_path / "a.db"), _dump(tmp_path / "b.db"), _dump(tmp_path / "c.db")
    assert a == b
    assert a["seed_people"] != c["seed_people"] and a["g_people"] != c["g_people"]
    events = [
        truth(
            tmp_path / f"{n}-web.db",
            "SELECT occurred_at, visitor_id, contact_email, ip, path FROM page_events ORDER BY id",
        )
        for n in "abc"
    ]
    assert events[0] == events[1] != events[2]


def test_reseeding_replaces_the_data(tmp_path):
    db = tmp_path / "s.db"
    seed(db, contacts=40, seed=1, now=NOW)
    seed(db, contacts=25, seed=2, now=NOW)
    assert truth(db, "SELECT COUNT(*) FROM seed_people")[0][0] == 25


def test_boundary_ages_are_present_in_every_system(seeded):
    db = seeded["db"]
    for column in ("ac_updated", "google_updated", "tawk_last_activity"):
        ages = _ages(db, column)
        missing = [b for b in BOUNDARIES if b not in ages]
        assert not missing, (column, missing)


def test_ages_spread_over_400_days_and_crowd_the_boundaries(seeded):
    ages = [a.days for a in _ages(seeded["db"], "last_activity")]
    assert min(ages) < 30 and max(ages) > 330 and max(ages) <= 400
    near = sum(1 for a in ages if 155 <= a <= 185)
    assert near / len(ages) > 0.25


def test_records_carry_different_timestamps_per_system(seeded):
    rows = truth(
        seeded["db"],
        "SELECT ac_updated, google_updated, tawk_last_activity FROM seed_people "
        "WHERE systems = 'activecampaign,google,tawk'",
    )
    assert len(rows) >= 15
    assert sum(1 for r in rows if len(set(r)) == 3) >= len(rows) * 0.9


def test_legal_holds_are_marked_in_each_system(seeded):
    db = seeded["db"]
    held = truth(db, "SELECT ac_id, google_resource FROM seed_people WHERE held = 1")
    assert len(held) >= 2
    tagged = {
        r[0]
        for r in truth(
            db,
            "SELECT contact FROM ac_contact_tags t JOIN ac_tags g ON g.id = t.tag "
            "WHERE g.tag = 'legal-hold'",
        )
    }
    grouped = {
        f"people/{r[0]}"
        for r in truth(
            db,
            "SELECT p.person_id FROM g_memberships m JOIN g_people p ON p.id = m.person "
            "JOIN g_groups g ON g.id = m.group_id WHERE g.name = 'legal-hold'",
        )
    }
    assert tagged == {ac for ac, _ in held if ac is not None}
    assert grouped == {g for _, g in held if g is not None}
    assert (
        truth(
            db,
            "SELECT COUNT(*) FROM seed_people "
            "WHERE held = 1 AND systems = 'activecampaign,google,tawk' "
            "AND last_activity < '2026-04-01'",
        )[0][0]
        >= 2
    )  # held and long past their term


def test_odd_values_people_really_have(seeded):
    db = seeded["db"]
    assert truth(
        db,
        "SELECT COUNT(*) FROM seed_people "
        "WHERE first_name = 'Zoë' AND last_name = 'Ğüneş-van ''t Hoff'",
    )[0][0]
    assert truth(db, "SELECT COUNT(*) FROM seed_people WHERE phones = '[]'")[0][0]
    assert truth(
        db,
        "SELECT COUNT(*) FROM seed_people "
        "WHERE json_array_length(phones) = 2 AND google_resource IS NOT NULL",
    )[0][0]
    stored = [
        r[0]
        for r in truth(db, "SELECT google_email FROM seed_people WHERE google_email IS NOT NULL")
    ]
    stored += [
        r[0] for r in truth(db, "SELECT tawk_email FROM seed_people WHERE tawk_email IS NOT NULL")
    ]
    assert any(e != e.lower() for e in stored) and any(e != e.strip() for e in stored)
    for raw, email in truth(
        db, "SELECT tawk_email, email FROM seed_people WHERE tawk_email IS NOT NULL"
    ):
        assert raw.strip().lower() == email  # the truth is the normalised address


def test_substring_email_pairs_in_activecampaign(seeded):
    rows = dict(
        truth(
            seeded["db"],
            "SELECT email, ac_updated FROM seed_people WHERE email LIKE '%@xs4all.nl' "
            "AND email IN ('an@xs4all.nl', 'jan@xs4all.nl', 'ram@xs4all.nl', 'bram@xs4all.nl')",
        )
    )
    assert set(rows) == {"an@xs4all.nl", "jan@xs4all.nl", "ram@xs4all.nl", "bram@xs4all.nl"}
    assert (
        rows["an@xs4all.nl"] < "2026-03-01" < rows["jan@xs4all.nl"]
    )  # the short one is due, the long one not


def test_multi_system_people_and_truth_ids_point_at_real_records(seeded):
    db = seeded["db"]
    for ac_id, resource, chats in truth(
        db, "SELECT ac_id, google_resource, tawk_chat_ids FROM seed_people"
    ):
        if ac_id is not None:
            assert truth(db, "SELECT COUNT(*) FROM ac_contacts WHERE id = ?", (ac_id,))[0][0] == 1
        if resource is not None:
            assert (
                truth(db, "SELECT COUNT(*) FROM g_people WHERE person_id = ?", (resource[7:],))[0][
                    0
                ]
                == 1
            )
        for chat in json.loads(chats or "[]"):
            assert truth(db, "SELECT COUNT(*) FROM tawk_chats WHERE id = ?", (chat,))[0][0] == 1
    assert truth(db, "SELECT COUNT(*) FROM seed_people WHERE systems = ''")[0][0] == 0


def test_website_events_in_sqlite(seeded):
    web = seeded["website"]
    rows = truth(web, "SELECT occurred_at, contact_email, ip FROM page_events")
    assert len(rows) == seeded["result"]["website_events"] > 300
    ages = [NOW_DT - datetime.fromisoformat(r[0]).replace(tzinfo=UTC) for r in rows]
    assert min(ages) >= timedelta(0) and max(ages) <= timedelta(days=400)
    assert timedelta(days=180) in ages and timedelta(days=180, seconds=1) in ages
    assert any(r[1] for r in rows) and any(r[1] is None for r in rows)
    indexes = {r[1] for r in truth(web, "PRAGMA index_list(page_events)")}
    assert {"page_events_occurred_at", "page_events_contact_email"} <= indexes


def test_website_events_in_postgresql(tmp_path, make_pg_database):
    url = make_pg_database()
    result = seed(
        tmp_path / "s.db", url.render_as_string(hide_password=False), contacts=40, seed=3, now=NOW
    )
    engine = sa.create_engine(url)
    try:
        assert website.count(engine) == result["website_events"] > 0
        names = {i["name"] for i in sa.inspect(engine).get_indexes("page_events")}
        assert {"page_events_occurred_at", "page_events_contact_email"} <= names
        with engine.connect() as conn:
            newest = conn.execute(sa.text("SELECT max(occurred_at) FROM page_events")).scalar_one()
        assert newest.tzinfo is not None and newest <= NOW_DT
    finally:
        engine.dispose()


@pytest.mark.skipif(
    not os.environ.get("KS_SANDBOX_MILLION"), reason="set KS_SANDBOX_MILLION=1 (takes ~80 s)"
)
def test_a_million_contacts_seed_well_under_two_minutes(tmp_path):
    started = time.monotonic()
    result = seed(
        tmp_path / "big.db",
        contacts=1_000_000,
        ac_contacts=1_000_000,
        google_contacts=1_000_000,
        tawk_people=0,
        contacts_only=True,
        seed=1,
        now=NOW,
    )
    assert time.monotonic() - started < 110
    assert result["activecampaign"] == result["google"] == 1_000_000
