"""Every field of a category obeys its term (issue 18): on the day a contact's phone term is due,
ks_retention_daily leaves no phone number in any phone-mapped field of that contact (the
ActiveCampaign contact's own phone, its custom field "Mobiel" through the fieldValues API, a
phone number typed in its notes; every Google phone number and the one in its notes) and touches
nothing else: the rest of a note, other custom fields, other people."""

from __future__ import annotations

import json
from collections import defaultdict

from ks_privacy.discovery.detectors import MARKER
from tests.fixtures.dagrun import task_states
from tests.fixtures.sandbox import NOW

DAY_MS = 86_400_000
NOW_MS = int(NOW.timestamp() * 1000)
PHONE_DUE, ALL_DUE = 159, 179  # days: the 160/180-day terms less the one-day lead time
RUN = {"override_guard": True, "sources": ["activecampaign", "google_contacts"]}


def age_days(ms: int) -> float:
    return (NOW_MS - (ms // 1000) * 1000) / DAY_MS


def planted(vendors, system: str) -> dict[str, list[tuple[str, str, str]]]:
    found = defaultdict(list)
    for ref, field, category, value in vendors.sql(
        "SELECT record_ref, field, category, value FROM seed_values WHERE system = ?", system
    ):
        found[ref].append((field, category, value))
    return found


def ac_state(vendors) -> tuple[dict, dict]:
    contacts = {
        str(cid): (phone, max(cdate, udate))
        for cid, phone, cdate, udate in vendors.sql(
            "SELECT id, phone, cdate, udate FROM ac_contacts"
        )
    }
    values = defaultdict(dict)
    for contact, title, value in vendors.sql(
        "SELECT v.contact, f.title, v.value FROM ac_field_values v JOIN ac_fields f "
        "ON f.id = v.field"
    ):
        values[str(contact)][f"custom:{title}"] = value
    return contacts, values


def held(vendors, column: str) -> set[str]:
    return {str(r[0]) for r in vendors.sql(f"SELECT {column} FROM seed_people WHERE held = 1")}


def test_on_the_phone_term_no_phone_is_left_in_any_phone_field_and_nothing_else_changes(
    make_vendors, run_dag
):
    vendors = make_vendors(300)  # enough people for due contacts with phones in their notes
    contacts, values_before = ac_state(vendors)
    people_before = {
        f"people/{pid}": (json.loads(data), updated)
        for pid, data, updated in vendors.sql("SELECT person_id, data, update_time FROM g_people")
    }
    ac_typed, g_typed = planted(vendors, "activecampaign"), planted(vendors, "google")
    ac_held, g_held = held(vendors, "ac_id"), held(vendors, "google_resource")

    run = run_dag("ks_retention_daily", NOW, RUN)
    assert str(run.state) == "success", task_states(run)
    after_contacts, values_after = ac_state(vendors)

    phone_due = {
        ref
        for ref, (_phone, last) in contacts.items()
        if PHONE_DUE <= age_days(last) < ALL_DUE and ref not in ac_held
    }
    with_mobile = {r for r in phone_due if "custom:Mobiel" in values_before[r]}
    with_note = {
        r
        for r in phone_due
        if any(f == "custom:Notities" and c == "phone" for f, c, _ in ac_typed[r])
    }
    assert with_mobile and with_note, "the seed must give due contacts custom phones and notes"
    for ref, (_phone, last) in contacts.items():
        before, after = values_before[ref], values_after.get(ref, {})
        if ref in phone_due:
            assert after_contacts[ref][0] == ""
            expected = dict(before)
            if "custom:Mobiel" in before:
                expected["custom:Mobiel"] = ""  # emptied through the fieldValues API
            for field, category, value in ac_typed[ref]:
                if category == "phone" and field == "custom:Notities":
                    expected[field] = before[field].replace(value, MARKER)
            assert after == expected, ref  # the rest of the note, company and town stay
            typed_phones = [v for _f, c, v in ac_typed[ref] if c == "phone"]
            assert not any(p in text for p in typed_phones for text in after.values())
        elif age_days(last) >= ALL_DUE and ref not in ac_held:
            assert ref not in after_contacts and after == {}
        else:
            assert after == before, ref  # not due (or held): not one value touched

    people_after = {
        f"people/{pid}": json.loads(data)
        for pid, data in vendors.sql("SELECT person_id, data FROM g_people")
    }
    due_notes = 0
    for ref, (person, updated) in people_before.items():
        age = age_days(updated)
        if ref in g_held or age < PHONE_DUE:
            assert people_after[ref] == person, ref
        elif age >= ALL_DUE:
            assert ref not in people_after
        else:
            after = people_after[ref]
            expected = {k: v for k, v in person.items() if k != "phoneNumbers"}
            for _field, category, value in g_typed[ref]:
                if category == "phone":
                    note = expected["biographies"][0]
                    expected["biographies"] = [
                        {**note, "value": note["value"].replace(value, MARKER)}
                    ]
                    due_notes += 1
            assert after == expected, ref  # the address in a note waits for its own term
    assert due_notes
