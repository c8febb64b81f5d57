"""Benchmark accounts: a seeded sandbox reshaped so that 0.5 % of each account is due today.

The seed spreads ages over 0-400 days (about half of everyone is due), which is what a first
sweep meets, not a daily one. A daily sweep meets an account whose old records went yesterday:
most contacts younger than the phone term, a thin slice crossing a term today. `shape()` rewrites
the timestamps of the seeded ActiveCampaign contacts and Google contacts (directly in the
sandbox's SQLite file; the seed has no option for it) into that picture, deterministically from
the record's id:

- id % 2000 in 0-3 (0.20 %): the phone is due (last activity 159.25-178.75 days ago, with a
  phone): redact the phone. Found by the vendor's filter or ordering.
- id % 2000 in 4-6 (0.15 %): everything is due (179.25-200 days): erase. Found likewise.
- id % 2000 in 7-9 (0.15 %): redacted by us ~20 days ago (phone gone, the vendor clock bumped
  to our write), everything due now by the activity the ledger kept: erase. Found only through
  our clock ledger.
- everyone else (99.5 %): younger than the phone term (0-158.5 days).

Legal holds stay as seeded (about 3 % of everyone, spread over all groups): held records that
are due are planned as `hold` and never touched. The third group's ledger entries are kept in
table `bench_ledger` of the same file; the runner copies them into each run's audit database,
as the earlier sweep that redacted them would have left them.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sandbox.clock import account_zone
from sandbox.seed import LEGAL_HOLD_GROUP_ID, LEGAL_HOLD_TAG_ID, seed

NOW = datetime(2026, 11, 25, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
DAY_S = 86_400
SHAPE_VERSION = "2"  # bump when shape() changes: cached templates are then made again

# The default policy's numbers for ActiveCampaign and Google: phone 160
# days, everything else 180, one day of lead time. The benchmark checks the sweep's plan against
# this truth, so a drift between the two shows up as a failed sanity check, not a wrong table.
PHONE_DUE_S = 159 * DAY_S
ALL_DUE_S = 179 * DAY_S
CUTOFF_MS = NOW_MS - PHONE_DUE_S * 1000  # the incremental scan's cutoff (now + lead - 160 days)

# id % 2000 -> group; age = base + (hash * span) // HASH_MOD seconds
HASH_MUL, HASH_MOD = 2654435761, 1000003
GROUPS = (
    # (first residue, last residue + 1, name, base age s, span s)
    (0, 4, "phone", int(159.25 * DAY_S), int(19.5 * DAY_S)),
    (4, 7, "old", int(179.25 * DAY_S), int(20.75 * DAY_S)),
    (7, 10, "ledger", int(179.25 * DAY_S), int(1.75 * DAY_S)),
)
YOUNG_SPAN_S = int(158.5 * DAY_S)


def _age_sql(col: str) -> str:
    """SQL for a record's age in seconds (its last activity; for `ledger`, the kept one)."""
    h = f"(({col} * {HASH_MUL}) % {HASH_MOD})"
    cases = " ".join(
        f"WHEN {col} % 2000 < {end} THEN {base} + ({h} * {span}) / {HASH_MOD}"
        for _start, end, _name, base, span in GROUPS
    )
    return f"(CASE {cases} ELSE ({h} * {YOUNG_SPAN_S}) / {HASH_MOD} END)"


def _ledger_stamp_age_sql(col: str, age: str) -> str:
    """How long ago our earlier redaction bumped the vendor clock: at 159-159.5 days of age."""
    return f"({age} - {PHONE_DUE_S} - (({col} * 7) % 43200))"


def _is(col: str, group: str) -> str:
    start, end = next((s, e) for s, e, n, *_ in GROUPS if n == group)
    return f"({col} % 2000 >= {start} AND {col} % 2000 < {end})"


def shape(db_path: Path) -> None:
    """Rewrite the seeded clocks into the 0.5 %-due picture (see the module docstring)."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-400000")
        for index in ("ac_contacts_udate", "ac_contacts_cdate", "g_people_update_time"):
            conn.execute(f"DROP INDEX IF EXISTS {index}")
        conn.execute("BEGIN")
        age = _age_sql("id")
        stamp_age = _ledger_stamp_age_sql("id", age)
        activity_ms = f"({NOW_MS} - ({age}) * 1000)"
        # ActiveCampaign: udate is the vendor clock; cdate stays before the last activity
        conn.execute(
            f"""UPDATE ac_contacts SET
                udate = CASE WHEN {_is("id", "ledger")} THEN {NOW_MS} - ({stamp_age}) * 1000
                             ELSE {activity_ms} END,
                cdate = {activity_ms} - (((id * 13) % 700) * {DAY_S} + (id * 31) % {DAY_S}) * 1000,
                phone = CASE WHEN {_is("id", "ledger")} THEN ''
                             WHEN {_is("id", "phone")} AND phone = ''
                                 THEN '+31 6 ' || printf('%08d', id)
                             ELSE phone END"""
        )
        conn.execute(
            f"""UPDATE g_people SET
                update_time = CASE WHEN {_is("id", "ledger")}
                                   THEN {NOW_MS} - ({stamp_age}) * 1000
                                   ELSE {activity_ms} END,
                data = CASE WHEN {_is("id", "ledger")} THEN json_remove(data, '$.phoneNumbers')
                            WHEN {_is("id", "phone")}
                                 AND json_extract(data, '$.phoneNumbers') IS NULL
                            THEN json_set(data, '$.phoneNumbers', json('[{{"value": "+31 6 '
                                 || printf('%08d', id) || '", "type": "mobile"}}]'))
                            ELSE data END"""
        )
        conn.execute("DROP TABLE IF EXISTS bench_ledger")
        conn.execute(
            "CREATE TABLE bench_ledger (source TEXT NOT NULL, record_ref TEXT NOT NULL, "
            "activity_before_ms INTEGER NOT NULL, vendor_stamp_after_ms INTEGER NOT NULL)"
        )
        conn.execute(
            f"""INSERT INTO bench_ledger
                SELECT 'activecampaign', CAST(id AS TEXT), {activity_ms}, udate
                FROM ac_contacts WHERE {_is("id", "ledger")}"""
        )
        conn.execute(
            f"""INSERT INTO bench_ledger
                SELECT 'google_contacts', 'people/' || person_id, {activity_ms}, update_time
                FROM g_people WHERE {_is("id", "ledger")}"""
        )
        conn.execute("CREATE TABLE IF NOT EXISTS bench_meta (key TEXT PRIMARY KEY, value TEXT)")
        conn.execute(
            "INSERT OR REPLACE INTO bench_meta VALUES ('shape_version', ?)", (SHAPE_VERSION,)
        )
        conn.execute("COMMIT")
        conn.execute("CREATE INDEX ac_contacts_udate ON ac_contacts (udate, id)")
        conn.execute("CREATE INDEX ac_contacts_cdate ON ac_contacts (cdate, id)")
        conn.execute("CREATE INDEX g_people_update_time ON g_people (update_time, id)")
        conn.execute("ANALYZE")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def make_account(db_path: Path, contacts: int, seed_value: int = 42, log=print) -> dict:
    """Seed `contacts` people into both ActiveCampaign and Google (contacts only) and shape them.
    A template made before with the same size, seed and shape version is kept."""
    if db_path.exists() and _meta(db_path) == _wanted(contacts, seed_value):
        log(f"  account of {contacts:,} contacts: reusing {db_path}")
        return {"reused": True, "seconds": 0.0}
    db_path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    started = time.monotonic()
    log(f"  seeding {contacts:,} contacts into ActiveCampaign and Google ...")
    seed(
        db_path,
        None,
        contacts=contacts,
        seed=seed_value,
        now=NOW,
        ac_contacts=contacts,
        google_contacts=contacts,
        tawk_people=0,
        contacts_only=True,
    )
    seeded = time.monotonic() - started
    shape(db_path)
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        conn.executemany(
            "INSERT OR REPLACE INTO bench_meta VALUES (?, ?)",
            list(_wanted(contacts, seed_value).items()),
        )
    finally:
        conn.close()
    took = time.monotonic() - started
    log(f"  seeded in {seeded:.0f} s, shaped in {took - seeded:.0f} s")
    return {"reused": False, "seconds": round(took, 1)}


def _wanted(contacts: int, seed_value: int) -> dict[str, str]:
    return {"shape_version": SHAPE_VERSION, "contacts": str(contacts), "seed": str(seed_value)}


def _meta(db_path: Path) -> dict[str, str]:
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            return dict(conn.execute("SELECT key, value FROM bench_meta"))
        finally:
            conn.close()
    except sqlite3.Error:
        return {}


# ---- the truth: what is due, computed from the sandbox file, independently of the sweep --------


@dataclass(frozen=True)
class Truth:
    """What one source of a shaped account holds and what today's sweep must do there."""

    source: str
    total: int  # records in the account
    held_total: int  # records under legal hold
    candidates: int  # vendor clock <= cutoff: what an exact vendor-side filter returns
    candidates_filtered: int  # what the vendor filter the API offers returns (AC: a date)
    held_candidates_exact: int  # held among `candidates`
    held_candidates: int  # held among `candidates_filtered`
    ledger: int  # refs in our clock ledger (read whatever their vendor clock says)
    erase: int  # due, not held: the whole record goes
    redact: int  # due, not held: the phone goes
    held_due: int  # due but held: planned as `hold`, untouched
    # values per custom field the policy maps (ActiveCampaign; read by every scan)
    custom_values: tuple[int, ...] = ()

    @property
    def acted(self) -> int:
        return self.erase + self.redact

    def as_dict(self) -> dict:
        return asdict(self)


def ac_filter_bound_ms(db_path: Path) -> int:
    """The instant `filters[updated_before]` reads for our cutoff: the date the source asks for
    (from the account's offset, as a contact's `udate` shows it), read as midnight in the
    account's time zone."""
    import json

    from ks_privacy.sources.activecampaign import updated_before_date

    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT value FROM settings WHERE key = 'ac_timezone'").fetchone()
        first = conn.execute("SELECT udate FROM ac_contacts ORDER BY email LIMIT 1")
        (udate_ms,) = first.fetchone()
    finally:
        conn.close()
    zone = account_zone(json.loads(row[0]) if row else "America/Chicago")
    offset = datetime.fromtimestamp(udate_ms / 1000, zone).utcoffset()
    day = updated_before_date(datetime.fromtimestamp(CUTOFF_MS / 1000, UTC), offset)
    local_midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
    return int(local_midnight.timestamp() * 1000)


def truth(db_path: Path) -> dict[str, Truth]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return {
            "activecampaign": _ac_truth(conn, ac_filter_bound_ms(db_path)),
            "google_contacts": _google_truth(conn),
        }
    finally:
        conn.close()


def _due_counts(rows) -> tuple[int, int, int]:
    """rows of (age_ms, has_phone, held) for records that may be due -> erase, redact, held."""
    erase = redact = held_due = 0
    for age_ms, has_phone, held in rows:
        if age_ms >= ALL_DUE_S * 1000:
            action = "erase"
        elif age_ms >= PHONE_DUE_S * 1000 and has_phone:
            action = "redact"
        else:
            continue
        if held:
            held_due += 1
        elif action == "erase":
            erase += 1
        else:
            redact += 1
    return erase, redact, held_due


def _ac_truth(conn: sqlite3.Connection, filter_bound_ms: int) -> Truth:
    held_sql = f"id IN (SELECT contact FROM ac_contact_tags WHERE tag = {LEGAL_HOLD_TAG_ID})"
    ledger = dict(
        conn.execute(
            "SELECT record_ref, activity_before_ms FROM bench_ledger "
            "WHERE source = 'activecampaign'"
        )
    )
    rows = []
    for cid, cdate, udate, phone, held in conn.execute(
        f"SELECT id, cdate, udate, phone, {held_sql} FROM ac_contacts WHERE udate <= ? "
        f"OR id IN (SELECT CAST(record_ref AS INTEGER) FROM bench_ledger "
        f"WHERE source = 'activecampaign')",
        (CUTOFF_MS,),
    ):
        activity = max(cdate, udate)
        if str(cid) in ledger:
            activity = min(activity, ledger[str(cid)])
        rows.append((NOW_MS - activity // 1000 * 1000, bool(phone), held))
    erase, redact, held_due = _due_counts(rows)
    (total,) = conn.execute("SELECT count(*) FROM ac_contacts").fetchone()
    (held_total,) = conn.execute(f"SELECT count(*) FROM ac_contacts WHERE {held_sql}").fetchone()
    mapped = set(_mapped_custom_titles())
    custom_values = tuple(
        n
        for title, n in conn.execute(
            "SELECT f.title, count(v.id) FROM ac_fields f LEFT JOIN ac_field_values v "
            "ON v.field = f.id GROUP BY f.id ORDER BY f.id"
        )
        if title in mapped
    )
    candidates, held_exact = conn.execute(
        f"SELECT count(*), coalesce(sum({held_sql}), 0) FROM ac_contacts WHERE udate <= ?",
        (CUTOFF_MS,),
    ).fetchone()
    filtered, held_filtered = conn.execute(
        f"SELECT count(*), coalesce(sum({held_sql}), 0) FROM ac_contacts WHERE udate < ?",
        (filter_bound_ms,),
    ).fetchone()
    return Truth(
        "activecampaign",
        total,
        held_total,
        candidates,
        filtered,
        held_exact,
        held_filtered,
        len(ledger),
        erase,
        redact,
        held_due,
        custom_values,
    )


def _mapped_custom_titles() -> list[str]:
    """The ActiveCampaign custom fields the default policy maps (the sweep reads their values)."""
    from ks_privacy.discovery.fieldmap import FieldMap
    from ks_privacy.policy import load_policy

    return list(
        FieldMap.of("activecampaign", load_policy().sources["activecampaign"]).custom_fields()
    )


def _google_truth(conn: sqlite3.Connection) -> Truth:
    held_sql = f"id IN (SELECT person FROM g_memberships WHERE group_id = '{LEGAL_HOLD_GROUP_ID}')"
    ledger = dict(
        conn.execute(
            "SELECT record_ref, activity_before_ms FROM bench_ledger "
            "WHERE source = 'google_contacts'"
        )
    )
    rows = []
    for person_id, updated, has_phone, held in conn.execute(
        f"SELECT person_id, update_time, json_extract(data, '$.phoneNumbers') IS NOT NULL, "
        f"{held_sql} FROM g_people WHERE update_time <= ? OR 'people/' || person_id IN "
        "(SELECT record_ref FROM bench_ledger WHERE source = 'google_contacts')",
        (CUTOFF_MS,),
    ):
        activity = updated
        ref = f"people/{person_id}"
        if ref in ledger:
            activity = min(activity, ledger[ref])
        rows.append((NOW_MS - activity // 1000 * 1000, bool(has_phone), held))
    erase, redact, held_due = _due_counts(rows)
    (total,) = conn.execute("SELECT count(*) FROM g_people").fetchone()
    (held_total,) = conn.execute(f"SELECT count(*) FROM g_people WHERE {held_sql}").fetchone()
    candidates, held_candidates = conn.execute(
        f"SELECT count(*), coalesce(sum({held_sql}), 0) FROM g_people WHERE update_time <= ?",
        (CUTOFF_MS,),
    ).fetchone()
    return Truth(
        "google_contacts",
        total,
        held_total,
        candidates,
        candidates,  # the ordering stops exactly at the cutoff
        held_candidates,
        held_candidates,
        len(ledger),
        erase,
        redact,
        held_due,
    )


def ledger_rows(db_path: Path, source: str) -> list[dict]:
    """The clock-ledger entries an earlier sweep would have left, for the run's audit DB."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return [
            {
                "source": source,
                "ref": ref,
                "before": datetime.fromtimestamp(before / 1000, UTC),
                "after": datetime.fromtimestamp(after / 1000, UTC),
            }
            for ref, before, after in conn.execute(
                "SELECT record_ref, activity_before_ms, vendor_stamp_after_ms FROM bench_ledger "
                "WHERE source = ? ORDER BY record_ref",
                (source,),
            )
        ]
    finally:
        conn.close()


def cutoff() -> datetime:
    return NOW - timedelta(seconds=PHONE_DUE_S)
