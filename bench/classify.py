"""Classification throughput: how many records per second the inventory's detectors (and the
sweep's per-record category check) get through, against what the vendors' rate limits can deliver.
Discovery must never be the bottleneck: the API is.

    python -m bench.classify                 # 100 000 contacts
    python -m bench.classify --records 20000

The records are the sandbox seed's people (Faker nl_NL pools, the same generator and free-text
fields as `python -m sandbox seed`), shaped as ActiveCampaign contacts with their custom fields
and as Google contacts with every person field the seed fills, built in memory first so only
classification is timed. One process, one core. Prints figures; nothing is asserted.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from datetime import date

from ks_privacy.discovery import walk
from ks_privacy.discovery.fieldmap import FieldMap
from ks_privacy.discovery.inventory import classify
from ks_privacy.discovery.sampling import Values
from ks_privacy.policy import load_policy
from sandbox.free_text import AC_FIELDS, FreeText
from sandbox.population import PopulationGenerator, default_layout, ip_text

SEED = 42
TODAY = date(2026, 11, 25)
TITLES = {fid: title for fid, title, _kind, _tag in AC_FIELDS}
# What the vendors deliver at their documented limits, with the hooks' defaults
# (docs/configuration.md): records a second through the API.
VENDOR_RATES = {
    "ActiveCampaign (5 requests/s x 100 contacts a page)": 5 * 100,
    "Google People (1 request/s x 1000 contacts a page, the hook's default pace)": 1 * 1000,
    "Tawk (2 requests/s, one chat.get per chat)": 2,
}


def build(records: int) -> tuple[list[Values], list[Values]]:
    """(ActiveCampaign-shaped, Google-shaped) records of the first `records` seeded people."""
    people = PopulationGenerator(SEED, default_layout(records))
    texts = FreeText(SEED)
    companies = people.pools.companies
    ac, google = [], []
    for person in people.people():
        company = companies[person.pid % len(companies)]
        contact = {
            "firstName": person.first,
            "lastName": person.last,
            "email": person.email,
            "phone": person.phones[0] if person.phones else "",
            "ip": str(person.ip),
        }
        pairs = list(walk.activecampaign_contact(contact))
        pairs += [
            (walk.custom_field(TITLES[fid]), value)
            for fid, value, _ in texts.activecampaign(person, company)
        ]
        ac.append(Values(str(person.pid), pairs))
        extra, _ = texts.google(person, company)
        address = person.address
        data = {
            "names": [{"givenName": person.first, "familyName": person.last}],
            "emailAddresses": [{"value": person.email}],
            "phoneNumbers": [{"value": p} for p in person.phones],
            "addresses": [
                {
                    "formattedValue": f"{address['street']}\n{address['postcode']} "
                    f"{address['city']}\nNederland"
                }
            ],
            "genders": [{"value": person.gender}],
            "urls": [{"value": f"http://{ip_text(person.ip)}/"}] if person.pid % 50 == 0 else [],
            **extra,
        }
        google.append(Values(f"people/c{person.pid}", list(walk.google_person(data))))
    return ac, google


def timed(label: str, work, records: int) -> float:
    gc.collect()
    started = time.perf_counter()
    work()
    seconds = time.perf_counter() - started
    rate = records / seconds
    print(f"  {label:<58}{rate:>12,.0f} records/s  ({seconds:.2f} s)")
    return rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args(argv)
    policy = load_policy()
    print(f"building {args.records:,} seeded contacts in memory ...", flush=True)
    ac, google = build(args.records)
    gc.collect()
    gc.freeze()  # the built records stay put: a real run streams them and keeps none
    values = sum(len(v.pairs) for v in ac) + sum(len(v.pairs) for v in google)
    print(f"classification throughput, {args.records:,} contacts per source ({values:,} values)")
    ac_map = FieldMap.of("activecampaign", policy.sources["activecampaign"])
    google_map = FieldMap.of("google_contacts", policy.sources["google_contacts"])
    rates = [
        timed(
            "inventory, ActiveCampaign contacts + custom fields",
            lambda: classify("activecampaign", ac, TODAY),
            len(ac),
        ),
        timed(
            "inventory, Google contacts (every person field)",
            lambda: classify("google_contacts", google, TODAY),
            len(google),
        ),
        timed(
            "sweep's categories, ActiveCampaign (mapped fields)",
            lambda: [ac_map.categories(v.pairs) for v in ac],
            len(ac),
        ),
        timed(
            "sweep's categories, Google (mapped fields)",
            lambda: [google_map.categories(v.pairs) for v in google],
            len(google),
        ),
    ]
    print("what the vendors deliver at their documented limits:")
    for name, rate in VENDOR_RATES.items():
        print(f"  {name:<72}{rate:>7,} records/s")
    fastest = max(VENDOR_RATES.values())
    print(
        f"slowest classification is {min(rates) / fastest:,.0f}x the fastest vendor "
        f"({min(rates):,.0f} vs {fastest:,} records/s): discovery is never the bottleneck"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
