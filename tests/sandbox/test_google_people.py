"""Google People API v1 contract tests, through the real client libraries where it matters.
References: https://developers.google.com/people/api/rest/v1/... and the discovery document
googleapiclient bundles (people.v1.json)."""

from __future__ import annotations

import time

import jwt
import pytest
import requests
from google.oauth2 import service_account
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from sandbox.credentials import CONTACTS_SCOPE
from tests.sandbox.helpers import SUBJECT, control, truth

LEGAL_HOLD = "contactGroups/6c6567616c2d686f6c64"


def _people_service(sb):
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


def _list(gapi, **params):
    return gapi.get(gapi.base + "/people/me/connections", params=params, timeout=10)


# -- authentication: developers.google.com/identity/protocols/oauth2/service-account, 401 UNAUTH --


def test_real_google_auth_flow_and_discovery_client_list_connections(sb, db_path):
    """google-auth signs a JWT with the keyfile's key (domain-wide delegation, `sub`), gets a
    token from token_uri, and googleapiclient calls the paths of people.v1.json."""
    people = _people_service(sb)
    names, token = [], None
    while True:
        page = (
            people.people()
            .connections()
            .list(
                resourceName="people/me",
                personFields="names,emailAddresses",
                pageSize=50,
                pageToken=token,
            )
            .execute()
        )
        names += [p["resourceName"] for p in page.get("connections", [])]
        token = page.get("nextPageToken")
        if not token:
            break
    expected = {
        r[0]
        for r in truth(
            db_path, "SELECT google_resource FROM seed_people WHERE google_resource IS NOT NULL"
        )
    }
    assert set(names) == expected and len(names) == len(expected)
    assert page["totalItems"] == len(expected)
    issued = truth(db_path, "SELECT subject, scopes FROM g_tokens")
    assert issued == [(SUBJECT, CONTACTS_SCOPE)]


def _assertion(sb, **claims):
    info = sb.google_service_account_info
    now = int(time.time())
    payload = {
        "iss": info["client_email"],
        "aud": sb.token_url,
        "iat": now,
        "exp": now + 3600,
        "scope": CONTACTS_SCOPE,
        "sub": SUBJECT,
        **claims,
    }
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, info["private_key"], algorithm="RS256")


def _token(sb, assertion):
    return requests.post(
        sb.token_url,
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
        timeout=10,
    )


def test_token_endpoint_refuses_what_google_would(sb):
    ok = _token(sb, _assertion(sb))
    assert ok.status_code == 200
    assert set(ok.json()) == {"access_token", "expires_in", "token_type"}
    assert ok.json()["token_type"] == "Bearer"

    no_sub = _token(sb, _assertion(sb, sub=None))
    assert no_sub.status_code == 400 and no_sub.json()["error"] == "invalid_grant"
    readonly = _token(sb, _assertion(sb, scope="https://www.googleapis.com/auth/contacts.readonly"))
    assert readonly.status_code == 401 and readonly.json()["error"] == "unauthorized_client"
    other_key = jwt.encode(
        {"iss": "x", "aud": sb.token_url, "iat": 0, "exp": 1, "sub": SUBJECT},
        service_account_key_other(),
        algorithm="RS256",
    )
    assert _token(sb, other_key).json()["error"] == "invalid_grant"
    wrong_grant = requests.post(sb.token_url, data={"grant_type": "client_credentials"}, timeout=10)
    assert wrong_grant.json()["error"] == "unsupported_grant_type"


def service_account_key_other() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_missing_or_unknown_bearer_token_is_401_in_googles_shape(sb):
    url = sb.google_url + "v1/people/me/connections?personFields=names"
    for headers in ({}, {"Authorization": "Bearer ya29.not-issued"}):
        r = requests.get(url, headers=headers, timeout=10)
        assert r.status_code == 401
        assert r.json()["error"]["status"] == "UNAUTHENTICATED" and r.json()["error"]["code"] == 401


# -- people.connections/list (personFields required, pageSize 1-1000, pageToken, totalItems) ---


def test_person_fields_is_required(gapi):
    r = _list(gapi)
    assert r.status_code == 400
    assert r.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert "personFields" in r.json()["error"]["message"]
    assert _list(gapi, personFields="names,shoeSize").status_code == 400


def test_page_size_bounds_and_default(gapi, db_path):
    total = truth(db_path, "SELECT COUNT(*) FROM g_people")[0][0]
    default = _list(gapi, personFields="names").json()
    assert len(default["connections"]) == min(100, total)  # default 100
    assert _list(gapi, personFields="names", pageSize=1001).status_code == 400
    assert _list(gapi, personFields="names", pageSize=-1).status_code == 400
    everything = _list(gapi, personFields="names", pageSize=1000).json()
    assert len(everything["connections"]) == total and "nextPageToken" not in everything
    assert everything["totalItems"] == everything["totalPeople"] == total


def test_page_tokens_cover_every_contact_once_in_last_modified_order(gapi, db_path):
    seen, token, times = [], None, []
    while True:
        params = {"personFields": "metadata", "pageSize": 7}
        if token:
            params["pageToken"] = token
        page = _list(gapi, **params).json()
        for person in page.get("connections", []):
            seen.append(person["resourceName"])
            times.append(person["metadata"]["sources"][0]["updateTime"])
        token = page.get("nextPageToken")
        if not token:
            break
    assert len(seen) == len(set(seen)) == truth(db_path, "SELECT COUNT(*) FROM g_people")[0][0]
    assert times == sorted(times)  # LAST_MODIFIED_ASCENDING is the default
    newest = _list(
        gapi, personFields="metadata", pageSize=3, sortOrder="LAST_MODIFIED_DESCENDING"
    ).json()
    assert [p["metadata"]["sources"][0]["updateTime"] for p in newest["connections"]] == sorted(
        times
    )[::-1][:3]
    bad = _list(gapi, personFields="metadata", pageToken=token or "bm90LWpzb24")
    assert bad.status_code == 400


def test_only_requested_fields_are_returned(gapi):
    person = _list(gapi, personFields="emailAddresses", pageSize=1).json()["connections"][0]
    assert set(person) == {"resourceName", "etag", "emailAddresses"}
    assert person["resourceName"].startswith("people/c") and person["resourceName"][8:].isdigit()
    full = _list(
        gapi,
        personFields="names,emailAddresses,phoneNumbers,addresses,genders,memberships,metadata",
        pageSize=1,
    ).json()["connections"][0]
    assert full["metadata"]["sources"][0]["type"] == "CONTACT"
    assert full["metadata"]["sources"][0]["updateTime"].endswith("Z")
    assert {
        "contactGroupId": "myContacts",
        "contactGroupResourceName": "contactGroups/myContacts",
    } in [m["contactGroupMembership"] for m in full["memberships"]]


def test_two_phone_numbers_survive(gapi, db_path):
    (resource,) = truth(
        db_path,
        "SELECT google_resource FROM seed_people WHERE google_resource IS NOT NULL "
        "AND json_array_length(phones) = 2 LIMIT 1",
    )[0]
    person = gapi.get(
        gapi.base + "/" + resource, params={"personFields": "phoneNumbers"}, timeout=10
    ).json()
    assert len(person["phoneNumbers"]) == 2
    assert all(p["canonicalForm"].startswith("+31") for p in person["phoneNumbers"])


# -- people/get (404 NOT_FOUND), people/getBatchGet (<= 200, per-person status) -------------------


def test_get_unknown_person_is_404_not_found(gapi):
    r = gapi.get(gapi.base + "/people/c1234", params={"personFields": "names"}, timeout=10)
    assert r.status_code == 404 and r.json()["error"]["status"] == "NOT_FOUND"


def test_batch_get_reports_a_deleted_person_in_its_status(gapi, db_path):
    first, second = (
        r[0] for r in truth(db_path, "SELECT 'people/' || person_id FROM g_people LIMIT 2")
    )
    assert gapi.delete(gapi.base + f"/{first}:deleteContact", timeout=10).status_code == 200
    r = gapi.get(
        gapi.base + "/people:batchGet",
        params={"resourceNames": [first, second], "personFields": "names"},
        timeout=10,
    )
    assert r.status_code == 200
    gone, there = r.json()["responses"]
    assert gone["requestedResourceName"] == first and "person" not in gone
    assert gone["status"]["code"] == 5 and gone["httpStatusCode"] == 404
    assert there["person"]["resourceName"] == second
    too_many = gapi.get(
        gapi.base + "/people:batchGet",
        params={"resourceNames": [second] * 201, "personFields": "names"},
        timeout=10,
    )
    assert too_many.status_code == 400
    no_fields = gapi.get(
        gapi.base + "/people:batchGet", params={"resourceNames": [second]}, timeout=10
    )
    assert no_fields.status_code == 400


# -- people/deleteContact, people/batchDeleteContacts (<= 500 resource names) --------------------


def test_delete_contact_then_404(gapi, db_path):
    (name,) = truth(db_path, "SELECT 'people/' || person_id FROM g_people LIMIT 1")[0]
    first = gapi.delete(gapi.base + f"/{name}:deleteContact", timeout=10)
    assert first.status_code == 200 and first.json() == {}
    second = gapi.delete(gapi.base + f"/{name}:deleteContact", timeout=10)
    assert second.status_code == 404 and second.json()["error"]["status"] == "NOT_FOUND"


def test_batch_delete_up_to_500(gapi, db_path):
    names = [r[0] for r in truth(db_path, "SELECT 'people/' || person_id FROM g_people LIMIT 5")]
    too_many = gapi.post(
        gapi.base + "/people:batchDeleteContacts", json={"resourceNames": names * 101}, timeout=10
    )  # 505 names
    assert too_many.status_code == 400 and too_many.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert (
        truth(
            db_path,
            "SELECT COUNT(*) FROM g_people WHERE 'people/' || person_id IN (?,?,?,?,?)",
            tuple(names),
        )[0][0]
        == 5
    )
    ok = gapi.post(
        gapi.base + "/people:batchDeleteContacts", json={"resourceNames": names}, timeout=10
    )
    assert ok.status_code == 200 and ok.json() == {}
    assert (
        truth(
            db_path,
            "SELECT COUNT(*) FROM g_people WHERE 'people/' || person_id IN (?,?,?,?,?)",
            tuple(names),
        )[0][0]
        == 0
    )
    again = gapi.post(
        gapi.base + "/people:batchDeleteContacts", json={"resourceNames": names[:1]}, timeout=10
    )
    assert again.status_code == 404


# -- people/updateContact (updatePersonFields; stale etag: 400 failedPrecondition) ---------------


def test_update_contact_checks_etag_and_moves_update_time(sb, gapi):
    control(sb, "google", "now", json={"now": "2026-12-24T08:30:00Z"})
    person = _list(gapi, personFields="phoneNumbers,metadata", pageSize=1).json()["connections"][0]
    url = gapi.base + f"/{person['resourceName']}:updateContact"
    params = {"updatePersonFields": "phoneNumbers", "personFields": "phoneNumbers,metadata"}
    updated = gapi.patch(
        url, params=params, json={"etag": person["etag"], "phoneNumbers": []}, timeout=10
    )
    assert updated.status_code == 200
    body = updated.json()
    assert "phoneNumbers" not in body
    assert body["metadata"]["sources"][0]["updateTime"] == "2026-12-24T08:30:00Z"
    assert body["etag"] != person["etag"]
    assert body["metadata"]["sources"][0]["etag"] != person["metadata"]["sources"][0]["etag"]

    stale = gapi.patch(
        url, params=params, json={"etag": person["etag"], "phoneNumbers": []}, timeout=10
    )
    assert stale.status_code == 400
    assert stale.json()["error"]["status"] == "FAILED_PRECONDITION"
    stale_source = gapi.patch(
        url,
        params=params,
        timeout=10,
        json={"metadata": {"sources": [person["metadata"]["sources"][0]]}, "phoneNumbers": []},
    )
    assert stale_source.json()["error"]["status"] == "FAILED_PRECONDITION"
    no_mask = gapi.patch(url, json={"etag": body["etag"]}, timeout=10)
    assert no_mask.status_code == 400 and no_mask.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_update_contact_through_the_client_library(sb):
    people = _people_service(sb)
    person = (
        people.people()
        .connections()
        .list(resourceName="people/me", personFields="names", pageSize=1)
        .execute()["connections"][0]
    )
    done = (
        people.people()
        .updateContact(
            resourceName=person["resourceName"],
            updatePersonFields="names",
            personFields="names",
            body={"etag": person["etag"], "names": [{"givenName": "Zoë", "familyName": "Ğüneş"}]},
        )
        .execute()
    )
    assert done["names"][0]["displayName"] == "Zoë Ğüneş"
    with pytest.raises(HttpError) as stale:
        people.people().updateContact(
            resourceName=person["resourceName"],
            updatePersonFields="names",
            body={"etag": person["etag"], "names": [{"givenName": "X"}]},
        ).execute()
    assert stale.value.resp.status == 400
    two_names = {"etag": done["etag"], "names": [{"givenName": "A"}, {"givenName": "B"}]}
    with pytest.raises(HttpError):
        people.people().updateContact(
            resourceName=person["resourceName"], updatePersonFields="names", body=two_names
        ).execute()


# -- contactGroups/list, contactGroups/get (maxMembers -> memberResourceNames) -------------------


def test_legal_hold_group_lists_the_held_people(gapi, db_path):
    groups = gapi.get(gapi.base + "/contactGroups", timeout=10).json()
    assert "legal-hold" in [g["name"] for g in groups["contactGroups"]]
    held = {
        r[0]
        for r in truth(
            db_path,
            "SELECT google_resource FROM seed_people "
            "WHERE held = 1 AND google_resource IS NOT NULL",
        )
    }
    assert held
    group = gapi.get(gapi.base + f"/{LEGAL_HOLD}", params={"maxMembers": 1000}, timeout=10).json()
    assert group["name"] == "legal-hold" and group["memberCount"] == len(held)
    assert set(group["memberResourceNames"]) == held
    assert "memberResourceNames" not in gapi.get(gapi.base + f"/{LEGAL_HOLD}", timeout=10).json()
    member = sorted(held)[0]
    person = gapi.get(
        gapi.base + f"/{member}", params={"personFields": "memberships"}, timeout=10
    ).json()
    assert LEGAL_HOLD in [
        m["contactGroupMembership"]["contactGroupResourceName"] for m in person["memberships"]
    ]
    assert gapi.get(gapi.base + "/contactGroups/nope", timeout=10).status_code == 404


# -- quota: cloud.google.com/apis/design/errors (429 RESOURCE_EXHAUSTED) ------------------------


def test_quota_exhaustion_is_429_resource_exhausted_without_retry_after(sb, gapi):
    control(sb, "google", "rate_limit", json={"per_second": 2})
    answers = [_list(gapi, personFields="names", pageSize=1) for _ in range(4)]
    limited = [a for a in answers if a.status_code == 429]
    assert limited, [a.status_code for a in answers]
    assert limited[0].json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert "Retry-After" not in limited[0].headers
