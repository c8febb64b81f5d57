"""The ActiveCampaign emulator driven by a third-party client nobody here wrote:
activecampaign-python (PyPI, `activecampaign.client.Client`). What it really calls: plain
`requests.request(method, url + "/api/3" + endpoint)` with `Api-Token`, `Accept` and
`Content-Type: application/json` on every call (GETs and DELETEs included), and it parses a body
only when the answer's Content-Type holds application/json (a missing header is a KeyError).
The endpoints below are those its methods name; the shapes are the reference's
(https://developers.activecampaign.com/reference/...)."""

from __future__ import annotations

import pytest
import requests
from activecampaign.client import Client

from tests.sandbox.helpers import truth


@pytest.fixture
def client(sb) -> Client:
    return Client(sb.activecampaign_url.removesuffix("/api/3"), sb.ac_token)


@pytest.fixture
def answers(monkeypatch) -> list[requests.Response]:
    """Every response the client gets (it returns only parsed bodies; the headers are here)."""
    seen: list[requests.Response] = []
    real = requests.request

    def spy(*args, **kwargs):
        response = real(*args, **kwargs)
        seen.append(response)
        return response

    monkeypatch.setattr(requests, "request", spy)
    return seen


def test_contacts_list_filter_and_read(client, db_path):
    total = truth(db_path, "SELECT COUNT(*) FROM ac_contacts")[0][0]
    page = client.contacts.list_all_contacts(limit=100)
    assert page["meta"]["total"] == str(total)
    first = page["contacts"][0]
    one = client.contacts.retrieve_a_contact(first["id"])
    assert one["contact"]["id"] == first["id"] and one["contact"]["email"] == first["email"]
    found = client.contacts.list_all_contacts(email=first["email"])
    assert [c["id"] for c in found["contacts"]] == [first["id"]]
    gone = client.contacts.retrieve_a_contact("999999")
    assert gone == {"message": "No Result found for Subscriber with id 999999"}


def test_a_contacts_related_records(client):
    contact_id = client.contacts.list_all_contacts(limit=1)["contacts"][0]["id"]
    assert "contactTags" in client.contacts.retrieve_contact_tags(contact_id)
    assert "fieldValues" in client.contacts.retrieve_a_contacts_field_values(contact_id)
    assert "trackingLogs" in client.contacts.retrieve_a_contacts_tracking_logs(contact_id)
    assert "geoIps" in client.contacts.retrieve_a_contacts_geo_ips(contact_id)


def test_update_tag_list_status_and_delete(client, db_path):
    contact_id = client.contacts.list_all_contacts(limit=1)["contacts"][0]["id"]
    updated = client.contacts.update_a_contact(contact_id, {"contact": {"phone": ""}})
    assert updated["contact"]["phone"] == ""
    tag = client.tags.list_all_tags(limit=100)["tags"][0]
    added = client.contacts.add_a_tag_to_contact(
        {"contactTag": {"contact": contact_id, "tag": tag["id"]}}
    )
    assert added["contactTag"]["tag"] == tag["id"]
    client.contacts.remove_a_tag_from_a_contact(added["contactTag"]["id"])
    first_list = client.lists.retrieve_all_lists()["lists"][0]
    status = client.contacts.update_list_status_for_a_contact(
        {"contactList": {"list": first_list["id"], "contact": contact_id, "status": 2}}
    )
    assert str(status["contactList"]["status"]) == "2"  # unsubscribed
    assert client.contacts.delete_a_contact(contact_id) == {}  # a JSON body the client can read
    assert truth(db_path, "SELECT COUNT(*) FROM ac_contacts WHERE id = ?", (int(contact_id),)) == [
        (0,)
    ]
    assert client.contacts.delete_a_contact(contact_id)["message"].startswith("No result found")


def test_rate_limit_headers_come_with_every_answer_not_only_a_429(sb, client, answers):
    """reference/rate-limits: "We also provide additional headers for the rate limit (ex.
    RateLimit-Limit: 5) and remaining requests (ex. RateLimit-Remaining: 3)"."""
    sb.activecampaign.limiter.configure(sb.activecampaign.default_rate_limit)
    for _ in range(7):
        client.contacts.list_all_contacts(limit=1)
    ok = [r for r in answers if r.status_code == 200]
    limited = [r for r in answers if r.status_code == 429]
    assert len(ok) == 5 and limited
    assert all(r.headers["RateLimit-Limit"] == "5" for r in answers)
    assert [r.headers["RateLimit-Remaining"] for r in ok] == ["4", "3", "2", "1", "0"]
    assert all(r.headers["RateLimit-Remaining"] == "0" for r in limited)
    assert all(int(r.headers["Retry-After"]) >= 1 for r in limited)
    assert all("Retry-After" not in r.headers for r in ok)
