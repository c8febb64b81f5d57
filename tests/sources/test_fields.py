"""The policy's field map in the adapters, against the emulators: free text left for a person
(`flag`) stays and is reported, a redaction recomputed after someone edited the note keeps their
edit, rectification and access exports cover the mapped custom fields, a phone number typed in a
Tawk chat makes the chat hold a phone, and a policy without a map means what it meant before."""

from __future__ import annotations

import json
import sqlite3

from ks_privacy.discovery.detectors import MARKER
from ks_privacy.hooks.google_contacts import GoogleContactsHook
from ks_privacy.policy import FreeText
from ks_privacy.sources.activecampaign import ActiveCampaignSource
from ks_privacy.sources.base import Outcome, ScanWindow
from tests.sources.truth import expected


def typed(vendors, system: str, field: str, category: str) -> list[tuple[str, str]]:
    return vendors.sql(
        "SELECT record_ref, value FROM seed_values WHERE system = ? AND field = ? AND category = ?"
        " ORDER BY record_ref",
        system,
        field,
        category,
    )


def note_of(vendors, contact: str) -> str:
    return vendors.sql(
        "SELECT value FROM ac_field_values WHERE contact = ? AND field = 4", int(contact)
    )[0][0]


def test_a_flagged_note_is_left_for_a_person_and_the_read_back_still_sees_it(vendors, policy):
    config = policy.sources["activecampaign"]
    flagging = config.model_copy(
        update={"fields": {**config.fields, "custom:Notities": FreeText(free_text="flag")}}
    )
    source = ActiveCampaignSource(flagging)
    ref, phone = typed(vendors, "activecampaign", "custom:Notities", "phone")[0]
    note = note_of(vendors, ref)
    result = source.redact(ref, ["phone"])
    assert result.outcome == Outcome.REDACTED
    assert result.details["flagged"] == "custom:Notities"
    assert note_of(vendors, ref) == note and phone in note  # nobody's text changed by us
    assert "phone" in source.present([ref])[ref]  # so the sweep's verify turns the run red


def test_a_redacted_note_keeps_the_rest_of_the_text(vendors, build):
    source = build("activecampaign")
    ref, phone = typed(vendors, "activecampaign", "custom:Notities", "phone")[0]
    before = note_of(vendors, ref)
    assert source.redact(ref, ["phone"]).outcome == Outcome.REDACTED
    assert note_of(vendors, ref) == before.replace(phone, MARKER)
    assert "phone" not in source.present([ref])[ref]


def test_a_google_note_edited_during_our_redaction_keeps_that_edit(vendors, build, monkeypatch):
    source = build("google_contacts")
    ref, phone = typed(vendors, "google", "biographies", "phone")[0]
    other = GoogleContactsHook()
    real_get = GoogleContactsHook.get_person
    edits = []

    def colleague_adds_a_line(self, resource, fields):
        person = real_get(self, resource, fields)
        if self is source.hook and not edits:
            note = person["biographies"][0]["value"]
            edits.append(f"{note} Belt terug op {phone}.")
            other.update_fields(resource, {"biographies": [{"value": edits[0]}]})
        return person

    monkeypatch.setattr(GoogleContactsHook, "get_person", colleague_adds_a_line)
    assert source.redact(ref, ["phone"]).outcome == Outcome.REDACTED
    data = json.loads(
        vendors.sql("SELECT data FROM g_people WHERE 'people/' || person_id = ?", ref)[0][0]
    )
    assert data["biographies"][0]["value"] == edits[0].replace(phone, MARKER)
    assert "phoneNumbers" not in data


def test_a_phone_only_in_a_custom_field_is_a_phone_in_scan_and_read_back(vendors, build):
    source = build("activecampaign")
    ref = str(vendors.sql("SELECT id FROM ac_contacts WHERE phone = '' ORDER BY id LIMIT 1")[0][0])
    with sqlite3.connect(vendors.db_path) as conn:  # someone fills in "Mobiel" by hand
        conn.execute(
            "INSERT INTO ac_field_values (contact, field, value, cdate, udate) "
            "VALUES (?, 3, '06-13572468', 0, 0)",
            (int(ref),),
        )
    assert "phone" in {r.ref: r.categories for r in source.scan(ScanWindow())}[ref]
    assert "phone" in source.present([ref])[ref]
    assert source.redact(ref, ["phone"]).outcome == Outcome.REDACTED
    assert "phone" not in source.present([ref])[ref]
    assert vendors.sql(
        "SELECT value FROM ac_field_values WHERE contact = ? AND field = 3", int(ref)
    ) == [("",)]


def test_rectification_and_export_cover_the_mapped_custom_fields(vendors, build):
    source = build("activecampaign")
    ref, _ = typed(vendors, "activecampaign", "custom:Mobiel", "phone")[0]
    changed = source.rectify(ref, {"phone": "+31 6 1111 2222"})
    assert changed == ["phone"]
    values = dict(
        vendors.sql(
            "SELECT f.title, v.value FROM ac_field_values v JOIN ac_fields f ON f.id = v.field "
            "WHERE v.contact = ?",
            int(ref),
        )
    )
    assert values["Mobiel"] == "+31 6 1111 2222"
    assert vendors.sql("SELECT phone FROM ac_contacts WHERE id = ?", int(ref)) == [
        ("+31 6 1111 2222",)
    ]
    email = vendors.sql("SELECT email FROM ac_contacts WHERE id = ?", int(ref))[0][0]
    exported = source.export(email)["contacts"][0]["contact"]["custom_fields"]
    assert {(f["field"], f["value"]) for f in exported} == set(values.items())


def test_a_phone_typed_in_a_tawk_chat_makes_the_chat_hold_a_phone(vendors, build):
    source = build("tawk")
    chats = {ref for ref, _ in typed(vendors, "tawk", "messages", "phone")}
    without_field = {
        ref
        for (ref,) in vendors.sql(
            "SELECT id FROM tawk_chats WHERE coalesce(visitor_phone, '') = ''"
        )
    }
    only_typed = sorted(chats & without_field)
    assert only_typed
    scanned = {r.ref: r.categories for r in source.scan(ScanWindow())}
    assert all("phone" in scanned[ref] for ref in only_typed)
    assert all("phone" in c for c in source.present(only_typed).values())


def test_a_policy_without_a_field_map_keeps_the_adapters_own_fields(vendors, policy):
    bare = policy.sources["activecampaign"].model_copy(update={"fields": {}})
    source = ActiveCampaignSource(bare)
    truth = expected(vendors, "activecampaign")
    own = {
        str(cid): bool(phone.strip())
        for cid, phone in vendors.sql("SELECT id, phone FROM ac_contacts")
    }
    for record in source.scan(ScanWindow()):
        assert ("phone" in record.categories) is own[record.ref]
        assert record.categories - {"phone"} == truth[record.ref].categories - {"phone"}
    assert not any("/fieldValues" in e["route"] for e in vendors.requests_made("activecampaign"))
