"""Deterministic, fast generation of the people the sandbox's systems know.

Faker (nl_NL, seeded) is slow per call, so it only fills small pools of names, streets, cities
and companies once; people are combined from the pools with one `random.Random(seed)`, which
makes a million people in seconds and the same people for the same seed.

Ages are relative to the seed's `now`. They spread over 0-400 days, dense around the 160- and
180-day retention boundaries, and the first people sit exactly on them (159, 160, 161, 179,
180, 181 days, and one second either side of 160 and 180 days) in every system.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from faker import Faker

DAY_MS = 86_400_000
SECOND_MS = 1000

BOUNDARY_AGES_MS = (
    159 * DAY_MS,
    160 * DAY_MS,
    161 * DAY_MS,
    179 * DAY_MS,
    180 * DAY_MS,
    181 * DAY_MS,
    160 * DAY_MS - SECOND_MS,
    160 * DAY_MS + SECOND_MS,
    180 * DAY_MS - SECOND_MS,
    180 * DAY_MS + SECOND_MS,
)
# Names people really have, which naive code mangles.
UNICODE_NAMES = (
    ("Zoë", "Ğüneş-van 't Hoff"),
    ("Anaïs", "Çelik"),
    ("Jürgen", "Øverby"),
    ("Siân", "O'Connor-de Vries"),
    ("Chloé", "Dağ"),
    ("Björn", "Ærtsen"),
    ("Ilse", "van der Zwaag-Çakır"),  # noqa: RUF001 - a Turkish dotless i, on purpose
    ("Noé", "D'Artagnan"),
)
# PostNL never gives out these letter pairs: a postcode with them is not a real one.
UNUSED_LETTERS = {"SA": "SB", "SD": "SE", "SS": "ST"}
# (short, long): the short address is a substring of the long one, so a substring search for
# the short one (due for erasure) also finds the long one (recent, to be kept).
SUBSTRING_PAIRS = (("an", "jan"), ("ram", "bram"), ("len", "ellen"))
SUBSTRING_DOMAIN = "xs4all.nl"
MAIL_DOMAINS = (
    "gmail.com",
    "hotmail.com",
    "outlook.com",
    "ziggo.nl",
    "kpnmail.nl",
    "xs4all.nl",
    "planet.nl",
    "live.nl",
    "icloud.com",
    "yahoo.com",
    "home.nl",
    "upcmail.nl",
)
PAGE_PATHS = (
    "/",
    "/prijzen",
    "/over-ons",
    "/contact",
    "/blog/klantbeleving-meten",
    "/demo-aanvragen",
    "/inloggen",
    "/privacyverklaring",
    "/vacatures",
    "/klanten/reviews",
    "/blog/nps-uitleg",
)


@dataclass(slots=True)
class Pools:
    first_names: list[tuple[str, str]]  # (name, gender)
    last_names: list[str]
    streets: list[str]
    cities: list[str]
    companies: list[str]


def make_pools(seed: int) -> Pools:
    fake = Faker("nl_NL")
    fake.seed_instance(seed)
    firsts = [(fake.first_name_male(), "male") for _ in range(250)]
    firsts += [(fake.first_name_female(), "female") for _ in range(250)]
    lasts = list(dict.fromkeys(fake.last_name() for _ in range(900)))
    streets = list(dict.fromkeys(fake.street_name() for _ in range(500)))
    cities = list(dict.fromkeys(fake.city() for _ in range(250)))
    companies = list(dict.fromkeys(fake.company() for _ in range(200)))
    return Pools(firsts, lasts, streets, cities, companies)


@lru_cache(maxsize=65536)
def ascii_fold(text: str) -> str:
    """'Zoë Ğüneş-van 't Hoff' -> 'zoegunesvanthoff' (for e-mail local parts)."""
    decomposed = unicodedata.normalize("NFKD", text)
    base = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    base = base.replace("Ø", "O").replace("ø", "o").replace("Æ", "Ae").replace("æ", "ae")
    base = base.replace("\u0131", "i")  # dotless i
    return "".join(ch for ch in base.lower() if ch.isascii() and ch.isalnum())


def randint(rng: random.Random, low: int, high: int) -> int:
    """rng.randint's result range from one rng.random() call: several times faster."""
    return low + int(rng.random() * (high - low + 1))


def typed(email: str, rng: random.Random, *, upper: float, spaces: float) -> str:
    """The address as a person might type it: capitals, stray spaces."""
    value = email
    if rng.random() < upper:
        local, domain = value.split("@")
        value = (
            ".".join(p[:1].upper() + p[1:] for p in local.split("."))
            + "@"
            + (domain.upper() if rng.random() < 0.3 else domain.capitalize())
        )
    if rng.random() < spaces:
        value = " " * randint(rng, 1, 2) + value + " " * randint(rng, 0, 2)
    return value


def random_ip(rng: random.Random) -> int:
    while True:
        value = rng.getrandbits(32)
        first = value >> 24
        if 1 <= first <= 223 and first not in (10, 127, 172, 192):
            return value


def ip_text(value: int) -> str:
    return ".".join(str((value >> s) & 255) for s in (24, 16, 8, 0))


@dataclass(slots=True)
class Person:
    pid: int
    first: str
    last: str
    gender: str
    email: str  # normalised: trimmed, lower case
    phones: list[str]
    address: dict[str, str]
    held: bool
    ip: int
    # age at last activity per system (ms before now); None: not in that system
    ac_age: int | None = None
    google_age: int | None = None
    tawk_age: int | None = None
    emails: dict[str, str] = field(default_factory=dict)  # as stored in each system


@dataclass
class Layout:
    """How many people, and in which systems (counts are minimums; everyone is in one)."""

    people: int
    ac: int
    google: int
    tawk: int


def default_layout(contacts: int) -> Layout:
    return Layout(contacts, round(contacts * 0.8), round(contacts * 0.6), round(contacts * 0.3))


class PopulationGenerator:
    """Yields the same people, in the same order, for the same seed and layout."""

    def __init__(self, seed: int, layout: Layout, pools: Pools | None = None) -> None:
        self.seed = seed
        self.layout = layout
        self.pools = pools or make_pools(seed)
        self.rng = random.Random(seed)

    def _membership(self) -> tuple[set[int], set[int], set[int]]:
        """Which person indexes are in each system; the special people are in all three."""
        n = self.layout.people
        special = min(n, len(BOUNDARY_AGES_MS) + 2 + 2 * len(SUBSTRING_PAIRS))
        rest = list(range(special, n))

        def pick(count: int) -> set[int]:
            count = max(0, min(count - special, len(rest)))
            if count >= len(rest):
                return set(rest)
            return set(self.rng.sample(rest, count))

        ac, google, tawk = pick(self.layout.ac), pick(self.layout.google), pick(self.layout.tawk)
        everyone = set(range(special))
        ac |= everyone
        google |= everyone
        tawk |= everyone
        orphans = set(rest) - ac - google - tawk
        ac |= orphans
        return ac, google, tawk

    def _age(self) -> int:
        rng = self.rng
        if rng.random() < 0.35:
            return int(rng.uniform(155, 185) * DAY_MS)
        return int(rng.uniform(0, 400) * DAY_MS)

    def people(self):
        rng, pools = self.rng, self.pools
        rand = rng.random
        firsts, lasts, streets, cities = (
            pools.first_names,
            pools.last_names,
            pools.streets,
            pools.cities,
        )
        ac_set, google_set, tawk_set = self._membership()
        n_boundary = len(BOUNDARY_AGES_MS)
        held_forced = {n_boundary, n_boundary + 1}
        pair_index = {n_boundary + 2 + i: i for i in range(2 * len(SUBSTRING_PAIRS))}
        for index in range(self.layout.people):
            first, gender = firsts[int(rand() * len(firsts))]
            last = lasts[int(rand() * len(lasts))]
            if index % 47 == 5 or index in (0, 3):
                first, last = UNICODE_NAMES[(index // 47 + index) % len(UNICODE_NAMES)]
            domain = MAIL_DOMAINS[int(rand() * len(MAIL_DOMAINS))]
            style = rand()
            local_first, local_last = ascii_fold(first), ascii_fold(last)
            if style < 0.5:
                local = f"{local_first}.{local_last}{index}"
            elif style < 0.8:
                local = f"{local_first[:1]}.{local_last}{index}"
            else:
                local = f"{local_first}{index}"
            email = f"{local}@{domain}"
            if index in pair_index:
                short, long_ = SUBSTRING_PAIRS[pair_index[index] // 2]
                email = f"{short if pair_index[index] % 2 == 0 else long_}@{SUBSTRING_DOMAIN}"

            phones = []
            roll = rand()
            if roll > 0.1:
                phones.append(f"06-{randint(rng, 10_000_000, 99_999_999)}")
                if roll > 0.85:
                    phones.append(f"+31 {randint(rng, 10, 79)} {randint(rng, 100_0000, 999_9999)}")
            letters = f"{chr(65 + randint(rng, 0, 25))}{chr(65 + randint(rng, 0, 25))}"
            address = {
                "street": f"{streets[int(rand() * len(streets))]} {randint(rng, 1, 250)}",
                "postcode": f"{randint(rng, 1000, 9999)} {UNUSED_LETTERS.get(letters, letters)}",
                "city": cities[int(rand() * len(cities))],
            }
            held = index in held_forced or (index >= n_boundary and rand() < 0.03)
            person = Person(
                index + 1, first, last, gender, email, phones, address, held, random_ip(rng)
            )

            # Ages per system, different per system.
            if index < n_boundary:
                ages = [BOUNDARY_AGES_MS[(index + k * 3) % n_boundary] for k in range(3)]
            elif index in held_forced:
                ages = [int(rng.uniform(250, 400) * DAY_MS) for _ in range(3)]
            elif index in pair_index:
                short_one = pair_index[index] % 2 == 0
                base = (300 if short_one else 20) * DAY_MS
                ages = [base + randint(rng, 0, DAY_MS) for _ in range(3)]
            else:
                base = self._age()
                ages = [max(0, base + int(rng.uniform(-4, 4) * DAY_MS)) for _ in range(3)]
            ages = [a - a % SECOND_MS for a in ages]
            if index in ac_set:
                person.ac_age = ages[0]
                person.emails["activecampaign"] = typed(email, rng, upper=0.1, spaces=0.0)
            if index in google_set:
                person.google_age = ages[1]
                person.emails["google"] = typed(email, rng, upper=0.15, spaces=0.02)
            if index in tawk_set:
                person.tawk_age = ages[2]
                person.emails["tawk"] = typed(email, rng, upper=0.15, spaces=0.15)
            yield person
