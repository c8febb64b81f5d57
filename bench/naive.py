"""The naive way to do the same day's work, for comparison: read the whole account, fetch every
contact on its own to decide on it, and act one contact at a time.

It decides exactly as the sweep does (the same policy, the same legal holds, the same clock
ledger, so it does the same work) and paces itself with the same client (VendorSession: the
same rate, the same retries); only the way it finds and acts on what is due differs:

- ActiveCampaign: the legal-hold tag and its contacts, every contact page (100), then
  `GET /contacts/{id}` per contact, `DELETE` per erased contact, `PUT` per redaction.
- Google: the legal-hold group, every connections page (1000, by first name so that a
  redaction does not move a contact to the end of the list), then `people.get` per contact,
  `deleteContact` per erased contact, `updateContact` per redaction (with the etag it just read).

`limit`: stop after that many contacts (the benchmark's bounded sample of a big account).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from datetime import datetime

from bench.data import NOW
from ks_privacy.ledger import ClockLedger
from ks_privacy.policy import Action, Facts, decide, last_activity, load_policy
from ks_privacy.timeutil import parse_timestamp

LEDGER_FILE = "KS_BENCH_LEDGER"  # env: JSON {ref: [activity_before, vendor_stamp_after]}


def _ledger() -> dict[str, tuple[datetime, datetime]]:
    path = os.environ.get(LEDGER_FILE)
    if not path:
        return {}
    with open(path, encoding="utf-8") as fh:
        raw = json.load(fh)
    return {
        ref: (datetime.fromisoformat(before), datetime.fromisoformat(after))
        for ref, (before, after) in raw.items()
    }


def run(source: str, rate: float, limit: int | None) -> dict:
    started = time.monotonic()
    if source == "activecampaign":
        counts, calls = _activecampaign(limit)
    else:
        counts, calls = _google(limit)
    return {
        "seconds": round(time.monotonic() - started, 3),
        "calls": calls,
        "counts": dict(counts),
        "rate": rate,
    }


def _decide(policy, name, timestamps, vendor_stamp, ref, categories, held, ledger):
    computed = last_activity(timestamps, policy.sources[name].clock)
    activity = ClockLedger.effective_activity(computed, vendor_stamp, ledger.get(ref))
    return decide(policy, Facts(categories, activity, held), NOW)


def _activecampaign(limit: int | None) -> tuple[Counter, int]:
    from ks_privacy.hooks.activecampaign import ActiveCampaignHook
    from ks_privacy.sources.activecampaign import REDACTABLE, categories_of

    policy = load_policy()
    tag = policy.sources["activecampaign"].legal_hold.tag
    ledger = _ledger()
    hook = ActiveCampaignHook()
    api = hook.api
    tag_id = hook.tag_id(tag)
    held = {str(c["id"]) for c in hook.iter_contacts(tag_id=tag_id)} if tag_id else set()
    counts: Counter = Counter()
    last_id = 0
    while True:
        page = api.request(
            "GET",
            "contacts",
            "list contacts",
            params={"limit": 100, "orders[id]": "ASC", "id_greater": last_id},
        ).json()
        contacts = page.get("contacts", [])
        for listed in contacts:
            ref = str(listed["id"])
            contact = api.request("GET", f"contacts/{ref}", "get contact").json()["contact"]
            updated = parse_timestamp(contact.get("udate"))
            timestamps = {"created": parse_timestamp(contact.get("cdate")), "updated": updated}
            categories = categories_of(contact)
            decision = _decide(
                policy, "activecampaign", timestamps, updated, ref, categories, ref in held, ledger
            )
            if decision.action == Action.ERASE:
                api.request("DELETE", f"contacts/{ref}", "delete contact")
            elif decision.action == Action.REDACT:
                fields: dict[str, str] = {}
                for category in decision.categories:
                    fields.update(REDACTABLE[category])
                api.request("PUT", f"contacts/{ref}", "update contact", json={"contact": fields})
            counts[decision.action.value] += 1
            counts["processed"] += 1
            if limit and counts["processed"] >= limit:
                return counts, api.calls
        if len(contacts) < 100:
            return counts, api.calls
        last_id = int(contacts[-1]["id"])


def _google(limit: int | None) -> tuple[Counter, int]:
    from ks_privacy.hooks.google_contacts import CATEGORY_FIELDS, PERSON_FIELDS, GoogleContactsHook
    from ks_privacy.sources.google_contacts import categories_of, contact_update_time

    policy = load_policy()
    group_name = policy.sources["google_contacts"].legal_hold.contact_group
    ledger = _ledger()
    hook = GoogleContactsHook()
    api = hook.api
    group = hook.group_resource_name(group_name) if group_name else None
    counts: Counter = Counter()
    for listed in hook.iter_connections(sort_order="FIRST_NAME_ASCENDING", person_fields="names"):
        name = listed["resourceName"]
        person = hook.get_person(name, PERSON_FIELDS)
        updated = contact_update_time(person)
        groups = {
            (m.get("contactGroupMembership") or {}).get("contactGroupResourceName")
            for m in person.get("memberships") or []
        }
        decision = _decide(
            policy,
            "google_contacts",
            {"updated": updated},
            updated,
            name,
            categories_of(person),
            group is not None and group in groups,
            ledger,
        )
        if decision.action == Action.ERASE:
            api.request("DELETE", f"v1/{name}:deleteContact", "delete contact")
        elif decision.action == Action.REDACT:
            fields = {CATEGORY_FIELDS[c]: [] for c in decision.categories if c in CATEGORY_FIELDS}
            hook.update_fields(name, fields, person=person)
        counts[decision.action.value] += 1
        counts["processed"] += 1
        if limit and counts["processed"] >= limit:
            break
    return counts, api.calls
