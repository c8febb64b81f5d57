"""GoogleContactsHook against the People API emulator: pageToken paging and sortOrder, deleting
while iterating, batch deletes with a name already gone, stale etags, refused credentials."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ks_privacy.hooks import google_contacts
from ks_privacy.hooks.google_contacts import GoogleContactsHook
from ks_privacy.hooks.vendor_http import VendorAuthError, VendorError
from ks_privacy.sources.base import Outcome, ScanWindow
from tests.sources.truth import expected, from_ms

LIST = "/v1/people/me/connections"


def people_requests(vendors, route: str) -> list[dict]:
    return [r for r in vendors.requests_made("google") if r["route"] == route]


def updated_order(vendors) -> list[str]:
    rows = vendors.sql("SELECT person_id, update_time, id FROM g_people ORDER BY update_time, id")
    return [f"people/{r[0]}" for r in rows]


@pytest.mark.parametrize("page_size", [8, 10, 72, 1000])
def test_page_token_paging_across_page_edges(vendors, monkeypatch, page_size):
    monkeypatch.setattr(google_contacts, "PAGE_SIZE", page_size)
    names = updated_order(vendors)
    assert len(names) == 72  # 72 = 9 x 8: page size 8 ends exactly on the last contact
    seen = [p["resourceName"] for p in GoogleContactsHook().iter_connections()]
    assert seen == names  # each once, oldest change first
    pages = people_requests(vendors, LIST)
    assert len(pages) == -(-72 // page_size)
    assert all("sortOrder" in p["query_keys"] for p in pages)
    assert ["pageToken" in p["query_keys"] for p in pages] == [False] + [True] * (len(pages) - 1)


def test_sort_order_is_passed_on(vendors, monkeypatch):
    monkeypatch.setattr(google_contacts, "PAGE_SIZE", 10)
    newest_first = [
        p["resourceName"]
        for p in GoogleContactsHook().iter_connections(sort_order="LAST_MODIFIED_DESCENDING")
    ]
    assert newest_first == list(reversed(updated_order(vendors)))


def test_deleting_while_iterating_skips_nobody(vendors, monkeypatch):
    monkeypatch.setattr(google_contacts, "PAGE_SIZE", 10)
    names = updated_order(vendors)
    hook = GoogleContactsHook()
    seen = []
    for person in hook.iter_connections():
        seen.append(person["resourceName"])
        hook.batch_delete([person["resourceName"]])
    assert seen == names
    assert vendors.sql("SELECT COUNT(*) FROM g_people") == [(0,)]


def test_batch_delete_with_a_name_already_gone_deletes_the_rest(vendors, build):
    names = sorted(expected(vendors, "google_contacts"))[:6]
    hook = GoogleContactsHook()
    hook.batch_delete([names[2]])
    deleted, absent = hook.delete_existing(names)
    assert sorted(deleted) == sorted(n for n in names if n != names[2])
    assert absent == [names[2]]
    left = expected(vendors, "google_contacts")
    assert not set(names) & set(left)
    routes = [(r["route"], r["status"]) for r in vendors.requests_made("google")]
    assert routes[-3:] == [
        ("/v1/people:batchDeleteContacts", 404),  # the API refuses the whole batch
        ("/v1/people:batchGet", 200),
        ("/v1/people:batchDeleteContacts", 200),
    ]
    # through the adapter: the one already gone is "already absent", not an error
    more = sorted(left)[:3]
    results = build("google_contacts").erase([names[0], *more])
    assert sorted((r.ref, r.outcome) for r in results) == sorted(
        [(names[0], Outcome.ALREADY_ABSENT)] + [(n, Outcome.ERASED) for n in more]
    )


def test_erase_batches_at_the_documented_maximum(vendors, build, monkeypatch):
    monkeypatch.setattr(google_contacts, "DELETE_BATCH", 10)  # the API's is 500
    names = sorted(expected(vendors, "google_contacts"))
    results = build("google_contacts").erase(names)
    assert {r.outcome for r in results} == {Outcome.ERASED} and len(results) == 72
    assert vendors.sql("SELECT COUNT(*) FROM g_people") == [(0,)]
    deletes = people_requests(vendors, "/v1/people:batchDeleteContacts")
    assert len(deletes) == 8


def test_stale_etag_is_read_again_and_the_write_retried(vendors, build, monkeypatch):
    """Someone changes the contact between our read (etag) and our write: the API answers 400
    FAILED_PRECONDITION; the hook reads the new etag and writes again, keeping their change."""
    source = build("google_contacts")
    truth = expected(vendors, "google_contacts")
    name = next(n for n, e in sorted(truth.items()) if {"phone", "name"} <= e.categories)
    other = GoogleContactsHook()  # a colleague editing the same contact
    real_get = GoogleContactsHook.get_person
    interfered = []

    def get_then_someone_edits(self, resource, fields):
        person = real_get(self, resource, fields)
        if self is source.hook and not interfered:
            interfered.append(resource)
            other.update_fields(resource, {"names": [{"givenName": "Veranderd"}]})
        return person

    monkeypatch.setattr(GoogleContactsHook, "get_person", get_then_someone_edits)
    result = source.redact(name, ["phone"])
    assert result.outcome == Outcome.REDACTED
    data = json.loads(vendors.sql("SELECT data FROM g_people WHERE person_id = ?", name[7:])[0][0])
    assert "phoneNumbers" not in data
    assert data["names"][0]["givenName"] == "Veranderd"  # their change survived ours
    writes = [r["status"] for r in people_requests(vendors, "/v1/people/{person}:updateContact")]
    assert writes == [200, 400, 200]  # theirs, our stale one, our retry
    # the clock after our write is the sandbox's now, as the vendor reports it
    stamp = vendors.sql("SELECT update_time FROM g_people WHERE person_id = ?", name[7:])[0][0]
    assert result.vendor_stamp_after == from_ms(stamp)


def test_an_etag_that_keeps_going_stale_fails_after_three_tries(vendors, build, monkeypatch):
    source = build("google_contacts")
    name = sorted(expected(vendors, "google_contacts"))[0]
    other = GoogleContactsHook()
    real_get = GoogleContactsHook.get_person

    def always_edited(self, resource, fields):
        person = real_get(self, resource, fields)
        if self is source.hook:
            other.update_fields(resource, {"biographies": [{"value": "x"}]})
        return person

    monkeypatch.setattr(GoogleContactsHook, "get_person", always_edited)
    with pytest.raises(VendorError) as raised:
        source.redact(name, ["phone"])
    assert raised.value.status == 400 and raised.value.detail == "FAILED_PRECONDITION"
    ours = [
        r
        for r in people_requests(vendors, "/v1/people/{person}:updateContact")
        if r["status"] == 400
    ]
    assert len(ours) == 3


def test_a_refused_key_fails_at_once(vendors, build, set_conn_extra):
    """A keyfile whose key the token endpoint does not know: one token request, no API call,
    VendorAuthError, and neither the key nor the subject's mailbox in the message."""
    info = dict(vendors.sandbox.google_service_account_info)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    info["private_key"] = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    set_conn_extra("google_contacts_default", keyfile_dict=json.dumps(info))
    source = build("google_contacts")
    with pytest.raises(VendorAuthError) as raised:
        list(source.scan(ScanWindow()))
    log = vendors.requests_made("google")
    assert [(r["route"], r["status"]) for r in log] == [("/token", 400)]
    message = str(raised.value)
    assert "invalid_grant" in message
    assert "PRIVATE KEY" not in message and vendors.sandbox.google_subject not in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
