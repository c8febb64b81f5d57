"""Fill the sandbox: people in ActiveCampaign, Google contacts and Tawk, page events in the
website-activity store, and the truth table `seed_people` that tests compute outcomes from.

    from sandbox.seed import seed
    seed("var/sandbox.db", "sqlite:///var/website.db", contacts=300, seed=42,
         now="2026-11-25T00:00:00Z")

Same seed and arguments, same data (ids, names, timestamps), byte for byte in every table but
the credentials. A million contacts take well under two minutes: rows are built from pools and
written with executemany in big transactions, secondary indexes are built after the load.
"""

from __future__ import annotations

import hashlib
import json
import queue
import random
import sqlite3
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sandbox import website
from sandbox.activecampaign import DEFAULT_TIMEZONE
from sandbox.clock import iso_utc_seconds, parse_iso_ms, to_ms
from sandbox.credentials import load_credentials
from sandbox.free_text import AC_FIELDS, FreeText, Planted
from sandbox.google_people import LEGAL_HOLD_GROUP, MY_CONTACTS
from sandbox.population import (
    DAY_MS,
    PAGE_PATHS,
    Layout,
    Person,
    PopulationGenerator,
    default_layout,
    ip_text,
    randint,
)
from sandbox.store import DATA_TABLES, INDEXES, SCHEMA, Store

CHUNK = 50_000
AC_TAGS = (
    (1, "legal-hold", "Bewaarplicht: niet verwijderen"),
    (2, "klant", ""),
    (3, "webinar", ""),
)
AC_LISTS = ((1, "Nieuwsbrief", "nieuwsbrief"), (2, "Klanten", "klanten"))
LEGAL_HOLD_TAG_ID = 1
LEGAL_HOLD_GROUP_ID = "6c6567616c2d686f6c64"  # hex of "legal-hold": group ids are hex in Google
AGENT = "Sanne (KlantenScoren)"


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _now_ms(now: str | datetime | None) -> int:
    if now is None:
        return int(time.time()) * 1000
    if isinstance(now, datetime):
        return to_ms(now) // 1000 * 1000
    return parse_iso_ms(now) // 1000 * 1000


def _google_number(index: int, seed: int) -> int:
    """A unique 18-19 digit contact number per index (an odd multiplier is a bijection)."""
    mixed = (index * 0x9E3779B97F4A7C15 + seed * 0x632BE59BD9B4E019) % (1 << 62)
    return (1 << 62) + mixed


def _hex24(rng: random.Random) -> str:
    return format(rng.getrandbits(96), "024x")


class _Batch:
    """Rows per table, handed to the writer in one piece."""

    def __init__(self, writer: _Writer) -> None:
        self.writer = writer
        self.rows: defaultdict[str, list[tuple]] = defaultdict(list)

    def add(self, table: str, row: tuple) -> None:
        self.rows[table].append(row)

    def flush(self) -> None:
        rows = {table: items for table, items in self.rows.items() if items}
        if rows:
            self.writer.put(rows)
        self.rows = defaultdict(list)


class _Writer:
    """Bulk inserts on a thread of their own (sqlite3 lets go of the GIL while it writes, so
    generating the next chunk and writing this one overlap), journal off, one transaction per
    chunk. A seed interrupted half-way leaves a database to seed again."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in (
            "journal_mode=OFF",
            "synchronous=OFF",
            "cache_size=-200000",
            "temp_store=MEMORY",
            "locking_mode=EXCLUSIVE",
        ):
            self.conn.execute(f"PRAGMA {pragma}")
        self.queue: queue.Queue[dict[str, list[tuple]] | None] = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="sandbox-seed-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            rows = self.queue.get()
            if rows is None:
                return
            if self.error is not None:
                continue
            try:
                self.conn.execute("BEGIN")
                for table, items in rows.items():
                    sql = INSERT_SQL.get(table)
                    if sql is None:
                        sql = f"INSERT INTO {table} VALUES ({','.join('?' * len(items[0]))})"
                    self.conn.executemany(sql, items)
                self.conn.execute("COMMIT")
            except BaseException as exc:  # re-raised in the seeding thread
                self.error = exc

    def put(self, rows: dict[str, list[tuple]]) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(rows)

    def finish(self) -> None:
        """Wait for the last rows, build the indexes, analyse, and go back to WAL mode."""
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error
        for statement in INDEXES.strip().split(";"):
            if statement.strip():
                self.conn.execute(statement)
        self.conn.execute("ANALYZE")
        self.conn.execute("PRAGMA locking_mode=NORMAL")
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.close()


@lru_cache(maxsize=65536)
def _json_str(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


_ISO = "strftime('%Y-%m-%dT%H:%M:%SZ', ? / 1000, 'unixepoch')"
# seed_people's times are written as ms and formatted by SQLite, on the writer's thread.
INSERT_SQL = {
    "seed_people": "INSERT INTO seed_people VALUES ("
    + ",".join(["?"] * 11)
    + ", ?, ?, "
    + f"{_ISO}, {_ISO}, ?, ?, {_ISO}, ?, ?, ?, {_ISO}, {_ISO})",
}


def _phones_json(phones: list[str]) -> str:
    return '["' + '","'.join(phones) + '"]' if phones else "[]"


class _Seeder:
    def __init__(self, store: Store, seed: int, now: int, contacts_only: bool) -> None:
        self.seed = seed
        self.now = now
        self.contacts_only = contacts_only
        self.extra_rng = random.Random(f"{seed}-extras")
        self.tawk_rng = random.Random(f"{seed}-tawk")
        self.free_text = FreeText(seed)
        self.next_ac = 1
        self.next_google = 1
        self.next_id = {
            "ac_contact_tags": 1,
            "ac_contact_lists": 1,
            "ac_field_values": 1,
            "ac_tracking_logs": 1,
            "ac_geo_ips": 1,
        }
        self.property_id = load_credentials(store).tawk_property_id
        self.companies: list[str] = []
        self.totals = {"people": 0, "activecampaign": 0, "google": 0, "tawk_chats": 0}

    def _id(self, table: str) -> int:
        value = self.next_id[table]
        self.next_id[table] = value + 1
        return value

    # -- static rows ------------------------------------------------------------------------------

    def static(self, batch: _Batch) -> None:
        created = self.now - 900 * DAY_MS
        for tid, tag, description in AC_TAGS:
            batch.add("ac_tags", (tid, tag, "contact", description, created))
        for lid, name, stringid in AC_LISTS:
            batch.add("ac_lists", (lid, name, stringid, created))
        for order, (fid, title, kind, perstag) in enumerate(AC_FIELDS, start=1):
            batch.add("ac_fields", (fid, title, kind, perstag, None, order, created, created))
        batch.add("g_groups", (MY_CONTACTS, MY_CONTACTS, "SYSTEM_CONTACT_GROUP", 1, created))
        batch.add(
            "g_groups", (LEGAL_HOLD_GROUP_ID, LEGAL_HOLD_GROUP, "USER_CONTACT_GROUP", 1, created)
        )
        batch.flush()

    @staticmethod
    def _plant(batch: _Batch, system: str, ref: str, planted: list[Planted]) -> None:
        for item in planted:
            batch.add("seed_values", (system, ref, item.field, item.category, item.value))

    # -- one person -------------------------------------------------------------------------------

    def person(self, p: Person, batch: _Batch) -> None:
        systems = []
        last = 0
        now = self.now
        ac = google = tawk = (None, None, None, None)
        if p.ac_age is not None:
            ac = self._activecampaign(p, batch)
            systems.append("activecampaign")
            last = now - p.ac_age
        if p.google_age is not None:
            google = self._google(p, batch)
            systems.append("google")
            last = max(last, now - p.google_age)
        if p.tawk_age is not None:
            tawk = self._tawk(p, batch)
            systems.append("tawk")
            last = max(last, now - p.tawk_age)
        address = p.address
        batch.add(
            "seed_people",
            (
                p.pid,
                p.email,
                p.first,
                p.last,
                _phones_json(p.phones),
                address["street"],
                address["postcode"],
                address["city"],
                p.gender,
                int(p.held),
                ",".join(systems),
                *ac,
                *google[:3],
                *tawk,
                last,
            ),
        )
        self.totals["people"] += 1

    def _activecampaign(self, p: Person, batch: _Batch) -> tuple:
        rng = self.extra_rng
        rand = rng.random
        cid = self.next_ac
        self.next_ac += 1
        udate = self.now - p.ac_age
        cdate = udate - int(rand() * 701) * DAY_MS - int(rand() * 86_400) * 1000
        email = p.emails["activecampaign"].strip()
        ip = p.ip if rand() < 0.8 else 0
        digest = hashlib.md5(email.lower().encode()).hexdigest()  # noqa: S324 - AC's gravatar-style hash
        rows = batch.rows
        rows["ac_contacts"].append(
            (
                cid,
                email,
                p.first,
                p.last,
                p.phones[0] if p.phones else "",
                ip,
                None,
                digest,
                cdate,
                udate,
            )
        )
        if p.held:
            rows["ac_contact_tags"].append(
                (self._id("ac_contact_tags"), cid, LEGAL_HOLD_TAG_ID, udate)
            )
        if not self.contacts_only:
            if rand() < 0.3:
                rows["ac_contact_tags"].append((self._id("ac_contact_tags"), cid, 2, cdate))
            status = 1 if rand() < 0.9 else 2
            rows["ac_contact_lists"].append(
                (
                    self._id("ac_contact_lists"),
                    cid,
                    1,
                    status,
                    cdate,
                    udate if status == 2 else cdate,
                    None,
                    ip,
                )
            )
            if rand() < 0.5:
                company = self.companies[int(rand() * len(self.companies))]
                rows["ac_field_values"].append(
                    (self._id("ac_field_values"), cid, 1, company, cdate, cdate)
                )
                rows["ac_field_values"].append(
                    (self._id("ac_field_values"), cid, 2, p.address["city"], cdate, cdate)
                )
            if ip:
                rows["ac_geo_ips"].append(
                    (
                        self._id("ac_geo_ips"),
                        cid,
                        ip,
                        cdate,
                        "NL",
                        "Nederland",
                        "",
                        p.address["city"],
                        p.address["postcode"],
                        "Europe/Amsterdam",
                    )
                )
            if rand() < 0.2:
                for _ in range(randint(rng, 1, 2)):
                    when = randint(rng, cdate, udate) // 1000 * 1000
                    path = PAGE_PATHS[int(rand() * len(PAGE_PATHS))]
                    rows["ac_tracking_logs"].append(
                        (
                            self._id("ac_tracking_logs"),
                            cid,
                            "page_visit",
                            f"https://www.klantenscoren.nl{path}",
                            hashlib.sha1(f"{cid}{when}".encode()).hexdigest(),  # noqa: S324
                            when,
                        )
                    )
            company = self.companies[p.pid % len(self.companies)]
            for field_id, value, planted in self.free_text.activecampaign(p, company):
                rows["ac_field_values"].append(
                    (self._id("ac_field_values"), cid, field_id, value, cdate, cdate)
                )
                self._plant(batch, "activecampaign", str(cid), planted)
        self.totals["activecampaign"] += 1
        return cid, email, cdate, udate

    def _google(self, p: Person, batch: _Batch) -> tuple:
        rand = self.extra_rng.random
        pk = self.next_google
        self.next_google += 1
        person_id = f"c{_google_number(p.pid, self.seed)}"
        updated = self.now - p.google_age
        email = p.emails["google"]
        # The contact's JSON, assembled from pre-encoded pieces (json.dumps per person is the
        # slowest part of a million-contact seed). E-mails and phones are generated ASCII
        # without quotes or backslashes; names and places come from the pools.
        data = (
            f'{{"names":[{{"givenName":{_json_str(p.first)},"familyName":{_json_str(p.last)}}}],'
            f'"emailAddresses":[{{"value":"{email}","type":"home"}}]'
        )
        phones = p.phones
        if phones:
            data += f',"phoneNumbers":[{{"value":"{phones[0]}","type":"mobile"}}'
            if len(phones) > 1:
                data += f',{{"value":"{phones[1]}","type":"work"}}'
            data += "]"
        if rand() < 0.7:
            address = p.address
            data += (
                f',"addresses":[{{"streetAddress":{_json_str(address["street"])},'
                f'"postalCode":"{address["postcode"]}","city":{_json_str(address["city"])},'
                '"country":"Nederland","countryCode":"NL","type":"home"}]'
            )
        if rand() < 0.6:
            data += f',"genders":[{{"value":"{p.gender}"}}]'
        if not self.contacts_only:
            company = self.companies[p.pid % len(self.companies)]
            extra, planted = self.free_text.google(p, company)
            for field, items in extra.items():
                data += f',"{field}":{_dumps(items)}'
            self._plant(batch, "google", f"people/{person_id}", planted)
        data += "}"
        rows = batch.rows
        rows["g_people"].append((pk, person_id, 1, updated, p.first, p.last, data))
        if p.held:
            rows["g_memberships"].append((LEGAL_HOLD_GROUP_ID, pk))
        self.totals["google"] += 1
        return f"people/{person_id}", email, updated, None

    def _chat(
        self,
        chat_id: str,
        last_message: int,
        visitor: tuple,
        person_id: str | None,
        phone: str | None,
        batch: _Batch,
        typed: tuple[str, Planted] | None = None,
    ) -> None:
        rng = self.tawk_rng
        visitor_id, name, email, ip, city = visitor
        created = last_message - randint(rng, 2, 40) * 60_000
        lines = [
            "Hallo, ik heb een vraag over mijn account.",
            "Kunnen jullie mij terugbellen?",
            "Wat kost het pakket voor 5 vestigingen?",
            "Dank je wel!",
        ]
        messages = []
        count = randint(rng, 2, 5)
        for i in range(count):
            when = created + (last_message - created) * i // max(count - 1, 1)
            from_visitor = i % 2 == 0
            text = rng.choice(lines) if from_visitor else "Natuurlijk, ik help je graag."
            if from_visitor and phone and i == 2:
                text = f"Bel me op {phone}"
                self._plant(batch, "tawk", chat_id, [Planted("messages", "phone", phone)])
            messages.append(
                {
                    "id": i + 1,
                    "type": "msg",
                    "sender": {"t": "v", "n": name} if from_visitor else {"t": "a", "n": AGENT},
                    "msg": text,
                    "time": when,
                }
            )
        if typed is not None:  # what the visitor typed, as their last message
            sender = {"t": "v", "n": name}
            messages.append(
                {
                    "id": count + 1,
                    "type": "msg",
                    "sender": sender,
                    "msg": typed[0],
                    "time": last_message,
                }
            )
            self._plant(batch, "tawk", chat_id, [typed[1]])
        ended = min(last_message + 60_000, self.now)
        batch.add(
            "tawk_chats",
            (
                chat_id,
                self.property_id,
                created,
                ended,
                last_message,
                visitor_id,
                name,
                email,
                phone,
                ip,
                city,
                "NL",
                person_id,
                _dumps(messages),
            ),
        )
        self.totals["tawk_chats"] += 1

    def _tawk(self, p: Person, batch: _Batch) -> tuple:
        rng = self.tawk_rng
        newest = self.now - p.tawk_age
        person_id = _hex24(rng)
        email = p.emails["tawk"]
        name = f"{p.first} {p.last}"
        phone = p.phones[0] if p.phones and rng.random() < 0.5 else None
        visitor = (f"{rng.getrandbits(40):010x}", name, email, ip_text(p.ip), p.address["city"])
        chat_times = [newest]
        for _ in range(rng.choice((0, 0, 1, 2))):
            chat_times.append(
                chat_times[-1] - randint(rng, 1, 300) * DAY_MS - randint(rng, 0, 86_399_000)
            )
        chat_ids = []
        typed = self.free_text.tawk_person(p, phone)
        for i, when in enumerate(chat_times):
            chat_id = _hex24(rng)
            chat_ids.append(chat_id)
            self._chat(
                chat_id,
                when // 1000 * 1000,
                visitor,
                person_id,
                phone,
                batch,
                typed if i == 0 else None,
            )
        batch.add(
            "tawk_persons",
            (person_id, self.property_id, name, email, phone, min(chat_times), newest),
        )
        if rng.random() < 0.3:  # an anonymous visitor chatting around the same time
            anon = (
                f"{rng.getrandbits(40):010x}",
                f"V{randint(rng, 1_000_000, 9_999_999)}",
                None,
                ip_text(rng.getrandbits(32) | 0x01000000),
                None,
            )
            when = max(newest - randint(rng, 0, 30) * DAY_MS, self.now - 400 * DAY_MS)
            typed = self.free_text.tawk_anonymous(self.totals["tawk_chats"])
            self._chat(_hex24(rng), when // 1000 * 1000, anon, None, None, batch, typed)
        return person_id, _dumps(chat_ids), email, newest


def _website_rows(
    people_sample: list[tuple[str, int, int]], count: int, seed: int, now: int
) -> Iterator[tuple]:
    """(occurred_at, visitor_id, contact_email, ip, path): events of known people (their e-mail
    as typed in a form, around their last activity) and anonymous events over 0-400 days,
    with some exactly on the 180-day boundary."""
    rng = random.Random(f"{seed}-website")

    def at(ms: int) -> datetime:
        return datetime.fromtimestamp(ms / 1000, tz=UTC)

    for email, ip, age in people_sample:
        for _ in range(randint(rng, 1, 4)):
            when = now - min(age + randint(rng, 0, 30) * DAY_MS, 400 * DAY_MS)
            shown = email if rng.random() < 0.8 else email.upper()
            yield (
                at(when // 1000 * 1000),
                f"{rng.getrandbits(64):016x}",
                shown,
                ip_text(ip),
                rng.choice(PAGE_PATHS),
            )
    edges = (180 * DAY_MS - 1000, 180 * DAY_MS, 180 * DAY_MS + 1000, 160 * DAY_MS)
    for i in range(count):
        age = edges[i] if i < len(edges) else randint(rng, 0, 400 * 86_400) * 1000
        yield (
            at(now - age),
            f"{rng.getrandbits(64):016x}",
            None,
            ip_text(rng.getrandbits(32) | 0x01000000),
            rng.choice(PAGE_PATHS),
        )


def seed(
    db_path: str | Path,
    website_db_url: str | None = None,
    *,
    contacts: int = 300,
    seed: int = 42,
    now: str | datetime | None = None,
    ac_contacts: int | None = None,
    google_contacts: int | None = None,
    tawk_people: int | None = None,
    website_events: int | None = None,
    contacts_only: bool = False,
    ac_timezone: str = DEFAULT_TIMEZONE,
    progress: bool = False,
) -> dict[str, Any]:
    """(Re)create all sandbox data. Returns counts and timing.

    contacts: people in total. ac_contacts / google_contacts / tawk_people: how many of them are
    in each system (default 80 % / 60 % / 30 %; everyone is in at least one; the special
    boundary, legal-hold and substring people are in all three). website_events: anonymous page
    events besides those of known people (default 2 per contact). contacts_only: only the
    contact records, legal holds and the truth table (no lists, field values, geo, tracking
    logs or page events) - for big benchmark seeds.
    """
    started = time.monotonic()
    now_ms = _now_ms(now)
    db_path = Path(db_path)
    layout = default_layout(contacts)
    layout = Layout(
        contacts,
        layout.ac if ac_contacts is None else ac_contacts,
        layout.google if google_contacts is None else google_contacts,
        layout.tawk if tawk_people is None else tawk_people,
    )
    store = Store(db_path)
    try:
        with store.write() as conn:
            for table in (*DATA_TABLES, "g_tokens"):
                conn.execute(f"DROP TABLE IF EXISTS {table}")
        with store.connection() as conn:
            conn.executescript(SCHEMA)
        store.drop_indexes()
        store.set_now(now_ms)
        store.set_setting("ac_timezone", ac_timezone)
        store.set_setting(
            "seed",
            {
                "seed": seed,
                "contacts": contacts,
                "now": iso_utc_seconds(now_ms),
                "layout": layout.__dict__,
                "contacts_only": contacts_only,
            },
        )
        seeder = _Seeder(store, seed, now_ms, contacts_only)
    finally:
        store.close()

    generator = PopulationGenerator(seed, layout)
    seeder.companies = generator.pools.companies
    writer = _Writer(db_path)
    batch = _Batch(writer)
    seeder.static(batch)
    sample_rng = random.Random(f"{seed}-web-people")
    web_people: list[tuple[str, int, int]] = []
    try:
        for i, person in enumerate(generator.people(), start=1):
            seeder.person(person, batch)
            if not contacts_only and sample_rng.random() < 0.4:
                ages = [
                    a for a in (person.ac_age, person.google_age, person.tawk_age) if a is not None
                ]
                web_people.append((person.email, person.ip, min(ages)))
            if i % CHUNK == 0:
                batch.flush()
                if progress:
                    print(f"seed: {i} people", flush=True)
        batch.flush()
    finally:
        writer.finish()

    store = Store(db_path)
    try:
        events = 0
        if website_db_url and not contacts_only:
            eng = website.engine(website_db_url)
            try:
                website.reset(eng)
                count = 2 * contacts if website_events is None else website_events
                events = website.insert_events(eng, _website_rows(web_people, count, seed, now_ms))
            finally:
                eng.dispose()
        load_credentials(store)
        result = {
            **seeder.totals,
            "website_events": events,
            "now": iso_utc_seconds(now_ms),
            "seconds": round(time.monotonic() - started, 2),
        }
        store.set_setting("seed_result", result)
        return result
    finally:
        store.close()
