"""The Google People emulator driven by Google's own client, which nobody here wrote:
google-api-python-client with its bundled (static) discovery document, pointed at the emulator,
and google-auth's service-account flow. What the client does on its own (a long GET sent as
POST with X-HTTP-Method-Override) and what the reference pages document (sync tokens, page
tokens tied to their request, system contact groups) must hold against the emulator."""

from __future__ import annotations

import pytest
from google.oauth2 import service_account
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from sandbox.credentials import CONTACTS_SCOPE
from tests.sandbox.helpers import SUBJECT, control, truth

SYSTEM_GROUPS = {
    "contactGroups/all",
    "contactGroups/blocked",
    "contactGroups/chatBuddies",
    "contactGroups/coworkers",
    "contactGroups/family",
    "contactGroups/friends",
    "contactGroups/myContacts",
    "contactGroups/starred",
}


@pytest.fixture
def people(sb):
    creds = service_account.Credentials.from_service_account_info(
        sb.google_service_account_info, scopes=[CONTACTS_SCOPE]
    ).with_subject(SUBJECT)
    return build(
        "people",
        "v1",
        credentials=creds,
        client_options={"api_endpoint": sb.google_url},
        static_discovery=True,
    )


def list_all(people, **params) -> tuple[list[dict], list[dict]]:
    """(every person, every page) of connections.list, following nextPageToken."""
    persons, pages, token = [], [], None
    while True:
        page = (
            people.people()
            .connections()
            .list(resourceName="people/me", pageToken=token, **params)
            .execute()
        )
        pages.append(page)
        persons += page.get("connections", [])
        token = page.get("nextPageToken")
        if not token:
            return persons, pages


def all_names(db_path) -> list[str]:
    rows = truth(
        db_path, "SELECT google_resource FROM seed_people WHERE google_resource IS NOT NULL"
    )
    return sorted(r[0] for r in rows)


# -- a long batchGet: the client sends it as POST + X-HTTP-Method-Override: GET -------------------


def test_a_long_batch_get_goes_as_post_with_method_override(sb, people, db_path):
    """googleapiclient turns a GET whose URL is over 2048 characters into a POST with
    `x-http-method-override: GET` and the query as a form body (googleapiclient/http.py); Google
    answers it as the GET (cloud.google.com/apis/docs/system-parameters)."""
    names = all_names(db_path)
    assert len(names) >= 60
    request = people.people().getBatchGet(resourceNames=names, personFields="names")
    body = request.execute()
    assert request.method == "POST" and request.headers["x-http-method-override"] == "GET"
    assert sorted(r["requestedResourceName"] for r in body["responses"]) == names
    assert all(r["person"]["resourceName"] in names for r in body["responses"])
    log = control(sb, "google", "requests").json()["requests"]
    assert [(r["method"], r["route"], r["status"]) for r in log if r["route"] != "/token"] == [
        ("GET", "/v1/people:batchGet", 200)  # answered as the GET it stands for
    ]


def test_only_a_post_carries_a_method_override(gapi, db_path):
    """A GET that names DELETE in the header is still a GET: 405 on the delete path, and the
    contact stays."""
    name = all_names(db_path)[0]
    response = gapi.get(
        gapi.base + f"/{name}:deleteContact",
        headers={"X-HTTP-Method-Override": "DELETE"},
        timeout=10,
    )
    assert response.status_code == 405
    kept = gapi.get(gapi.base + f"/{name}", params={"personFields": "names"}, timeout=10)
    assert kept.status_code == 200


# -- sync tokens: people.connections.list requestSyncToken / syncToken ----------------------------


def test_a_full_sync_ends_with_a_sync_token_on_its_last_page_only(people, db_path):
    persons, pages = list_all(people, personFields="names", pageSize=40, requestSyncToken=True)
    assert len(pages) > 1
    assert all("nextSyncToken" not in p for p in pages[:-1])
    assert pages[-1]["nextSyncToken"]
    assert sorted(p["resourceName"] for p in persons) == all_names(db_path)
    _, plain = list_all(people, personFields="names", pageSize=1000)
    assert "nextSyncToken" not in plain[-1]  # only when asked for


def test_an_incremental_sync_returns_what_changed_and_what_was_deleted(sb, people, db_path):
    _, pages = list_all(people, personFields="names,metadata", pageSize=50, requestSyncToken=True)
    sync_token = pages[-1]["nextSyncToken"]
    names = all_names(db_path)
    changed, deleted = names[3], names[7]
    control(sb, "google", "now", json={"advance_seconds": 60})
    person = people.people().get(resourceName=changed, personFields="names,metadata").execute()
    people.people().updateContact(
        resourceName=changed,
        updatePersonFields="names",
        body={"etag": person["etag"], "names": [{"givenName": "Changed"}]},
    ).execute()
    people.people().deleteContact(resourceName=deleted).execute()

    persons, delta = list_all(
        people, personFields="names,metadata", pageSize=50, syncToken=sync_token
    )
    by_name = {p["resourceName"]: p for p in persons}
    assert set(by_name) == {changed, deleted}
    assert by_name[changed]["names"][0]["givenName"] == "Changed"
    assert by_name[deleted]["metadata"]["deleted"] is True
    assert delta[-1]["nextSyncToken"] and delta[-1]["nextSyncToken"] != sync_token
    again, _ = list_all(
        people, personFields="names,metadata", pageSize=50, syncToken=delta[-1]["nextSyncToken"]
    )
    assert again == []  # nothing changed since


def test_an_expired_sync_token_is_refused_as_google_refuses_it(sb, people):
    _, pages = list_all(people, personFields="names", pageSize=1000, requestSyncToken=True)
    control(sb, "google", "now", json={"advance_days": 8})  # "expire 7 days after the full sync"
    with pytest.raises(HttpError) as raised:
        people.people().connections().list(
            resourceName="people/me", personFields="names", syncToken=pages[-1]["nextSyncToken"]
        ).execute()
    assert raised.value.resp.status == 400
    error = raised.value.error_details
    assert any(d.get("reason") == "EXPIRED_SYNC_TOKEN" for d in error)


def test_a_sync_token_with_other_parameters_is_refused(people):
    _, pages = list_all(people, personFields="names", pageSize=1000, requestSyncToken=True)
    with pytest.raises(HttpError) as raised:
        people.people().connections().list(
            resourceName="people/me",
            personFields="names,emailAddresses",
            syncToken=pages[-1]["nextSyncToken"],
        ).execute()
    assert raised.value.resp.status == 400


# -- page tokens belong to the request that made them --------------------------------------------


@pytest.mark.parametrize(
    "changed",
    [{"pageSize": 20}, {"personFields": "names,emailAddresses"}, {"requestSyncToken": True}],
    ids=["pageSize", "personFields", "requestSyncToken"],
)
def test_a_page_token_with_changed_parameters_is_refused(people, changed):
    """connections.list: "When the page_token or sync_token is specified, all other request
    parameters must match the first call." """
    first = {"resourceName": "people/me", "personFields": "names", "pageSize": 10}
    page = people.people().connections().list(**first).execute()
    token = page["nextPageToken"]
    same = people.people().connections().list(**first, pageToken=token).execute()
    assert same["connections"]
    with pytest.raises(HttpError) as raised:
        people.people().connections().list(**{**first, **changed}, pageToken=token).execute()
    assert raised.value.resp.status == 400
    assert "must match the first call" in raised.value.reason


# -- contact groups: the system groups are listed too ---------------------------------------------


def test_contact_groups_list_shows_the_system_groups(people):
    groups = people.contactGroups().list().execute()["contactGroups"]
    by_name = {g["resourceName"]: g for g in groups}
    assert set(by_name) >= SYSTEM_GROUPS | {"contactGroups/6c6567616c2d686f6c64"}
    for name in SYSTEM_GROUPS:
        assert by_name[name]["groupType"] == "SYSTEM_CONTACT_GROUP"
        assert by_name[name]["name"] == name.removeprefix("contactGroups/")
    assert by_name["contactGroups/myContacts"]["formattedName"] == "My Contacts"
    legal_hold = by_name["contactGroups/6c6567616c2d686f6c64"]
    assert legal_hold["groupType"] == "USER_CONTACT_GROUP" and legal_hold["name"] == "legal-hold"
    starred = people.contactGroups().get(resourceName="contactGroups/starred").execute()
    assert starred["groupType"] == "SYSTEM_CONTACT_GROUP"


def test_contact_groups_page_through_the_system_groups(people):
    seen, token = [], None
    while True:
        page = people.contactGroups().list(pageSize=3, pageToken=token).execute()
        seen += [g["resourceName"] for g in page["contactGroups"]]
        assert page["totalItems"] == len(SYSTEM_GROUPS) + 1
        token = page.get("nextPageToken")
        if not token:
            break
    assert len(seen) == len(set(seen)) == len(SYSTEM_GROUPS) + 1
