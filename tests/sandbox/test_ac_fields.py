"""ActiveCampaign custom fields and their values in the emulator, driven by a third-party client
(activecampaign-python) where it has the call, and by plain HTTP for the filters it lacks:
shapes, paging, filter by field and value, a contact's values, create, update, delete, 404s,
and that every value write counts as a write to its contact (`udate`)."""

from __future__ import annotations

import pytest
from activecampaign.client import Client

from tests.sandbox.helpers import truth


@pytest.fixture
def client(sb) -> Client:
    return Client(sb.activecampaign_url.removesuffix("/api/3"), sb.ac_token)


def test_fields_list_the_accounts_custom_fields_with_the_documented_shape(client, db_path):
    body = client.contacts.list_all_custom_fields(limit=100)
    titles = {f["title"]: f for f in body["fields"]}
    assert set(titles) == {t for (t,) in truth(db_path, "SELECT title FROM ac_fields")}
    mobile = titles["Mobiel"]
    assert mobile["perstag"] == "MOBIEL" and mobile["type"] == "text"
    assert titles["Notities"]["type"] == "textarea"
    assert {"options", "relations", "links", "id", "udate"} <= set(mobile)
    assert body["meta"]["total"] == str(len(titles))
    assert len(body["fieldRels"]) == len(titles)
    one = client.contacts.list_all_custom_fields(**{"filters[perstag]": "NOTITIES"})
    assert [f["title"] for f in one["fields"]] == ["Notities"]


def test_field_values_filter_by_field_and_value_and_page(ac, db_path):
    field = 3  # Mobiel
    stored = truth(db_path, "SELECT id, contact, value FROM ac_field_values WHERE field = ?", (3,))
    assert len(stored) > 5
    seen, offset = [], 0
    while True:
        page = ac.get(
            f"{ac.base}/fieldValues",
            params={"filters[fieldid]": field, "limit": 4, "offset": offset},
            timeout=10,
        ).json()
        seen += page["fieldValues"]
        assert page["meta"]["total"] == str(len(stored))
        if len(page["fieldValues"]) < 4:
            break
        offset += 4
    assert [(int(v["id"]), int(v["contact"]), v["value"]) for v in seen] == sorted(stored)
    assert {v["field"] for v in seen} == {"3"} and all(v["owner"] == v["contact"] for v in seen)
    value = stored[0][2]
    hit = ac.get(f"{ac.base}/fieldValues", params={"filters[val]": value}, timeout=10).json()
    assert {v["value"] for v in hit["fieldValues"]} == {value}
    bad = ac.get(f"{ac.base}/fieldValues", params={"filters[fieldid]": "x"}, timeout=10)
    assert bad.status_code == 400


def test_a_contacts_values_and_one_value_by_id(client, db_path):
    vid, contact, field, value = truth(
        db_path, "SELECT id, contact, field, value FROM ac_field_values ORDER BY id LIMIT 1"
    )[0]
    listed = client.contacts.retrieve_a_contacts_field_values(contact)["fieldValues"]
    assert str(vid) in {v["id"] for v in listed}
    one = client.contacts.retrieve_a_custom_field_value(vid)["fieldValue"]
    assert (one["contact"], one["field"], one["value"]) == (str(contact), str(field), value)
    assert client.contacts.retrieve_a_custom_field_value(999999) == {
        "message": "No Result found for FieldValue with id 999999"
    }


def test_update_create_and_delete_a_value_write_to_the_contact(client, sb, db_path):
    vid, contact, field = truth(
        db_path, "SELECT id, contact, field FROM ac_field_values WHERE field = 3 LIMIT 1"
    )[0]
    sb.set_now("2026-12-01T00:00:00Z")
    (udate_before,) = truth(db_path, "SELECT udate FROM ac_contacts WHERE id = ?", (contact,))[0]
    body = {"fieldValue": {"contact": contact, "field": field, "value": "[verwijderd]"}}
    answer = client.contacts.update_a_custom_field_value_for_contact(body, vid)
    assert answer["fieldValue"]["value"] == "[verwijderd]"
    assert answer["contacts"][0]["id"] == str(contact)
    (udate_after,) = truth(db_path, "SELECT udate FROM ac_contacts WHERE id = ?", (contact,))[0]
    assert udate_after > udate_before
    # the id names the contact's value: another contact or field is refused
    other = {"fieldValue": {"contact": contact + 1, "field": field, "value": "x"}}
    assert "errors" in client.contacts.update_a_custom_field_value_for_contact(other, vid)

    assert client.contacts.delete_a_custom_field_value(vid) == {}
    assert truth(db_path, "SELECT count(*) FROM ac_field_values WHERE id = ?", (vid,)) == [(0,)]
    assert "No Result found" in client.contacts.delete_a_custom_field_value(vid)["message"]

    created = client.contacts.create_a_custom_field_value(
        {"fieldValue": {"contact": contact, "field": field, "value": "06-12345678"}}
    )["fieldValue"]
    again = client.contacts.create_a_custom_field_value(
        {"fieldValue": {"contact": contact, "field": field, "value": "06-87654321"}}
    )["fieldValue"]
    assert again["id"] == created["id"]  # one value per contact and field
    assert truth(db_path, "SELECT value FROM ac_field_values WHERE id = ?", (created["id"],)) == [
        ("06-87654321",)
    ]
    missing = client.contacts.create_a_custom_field_value(
        {"fieldValue": {"contact": 987654, "field": field, "value": "x"}}
    )
    assert missing["errors"][0]["detail"] == "Contact not found"
