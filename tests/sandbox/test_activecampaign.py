"""ActiveCampaign v3 contract tests. Each test names the documented behaviour it checks
(https://developers.activecampaign.com/reference/...)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import requests

from tests.sandbox.helpers import control, truth

OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d-0[56]:00$")


def _get(ac, path, **params):
    return ac.get(ac.base + path, params=params, timeout=10)


def _contact_ids(ac, **params) -> list[int]:
    return [int(c["id"]) for c in _get(ac, "/contacts", **params).json()["contacts"]]


# -- authentication: reference/authentication, reference/errors (403) -----------------------------


def test_missing_or_wrong_token_is_403(sb):
    url = sb.activecampaign_url + "/contacts"
    missing = requests.get(url, timeout=10)
    wrong = requests.get(url, headers={"Api-Token": "not-the-token"}, timeout=10)
    right = requests.get(url, headers={"Api-Token": sb.ac_token}, timeout=10)
    assert missing.status_code == 403 and wrong.status_code == 403
    assert wrong.json() == {"message": "Forbidden"}
    assert right.status_code == 200


# -- pagination: reference/pagination -------------------------------------------------------------


def test_limit_offset_totals_and_edges(ac, db_path):
    expected = truth(db_path, "SELECT COUNT(*) FROM ac_contacts")[0][0]
    first = _get(ac, "/contacts").json()
    assert first["meta"]["total"] == str(expected)  # a string, as documented
    assert len(first["contacts"]) == 20  # default limit 20
    assert len(_get(ac, "/contacts", limit=500).json()["contacts"]) == 100  # max 100
    tail = _get(ac, "/contacts", limit=100, offset=expected - 7).json()
    assert len(tail["contacts"]) == 7
    assert tail["meta"]["total"] == str(expected)
    beyond = _get(ac, "/contacts", limit=100, offset=expected).json()
    assert beyond["contacts"] == [] and beyond["meta"]["total"] == str(expected)

    seen: list[int] = []
    for offset in range(0, expected, 30):
        seen += [
            int(c["id"]) for c in _get(ac, "/contacts", limit=30, offset=offset).json()["contacts"]
        ]
    assert sorted(seen) == sorted(r[0] for r in truth(db_path, "SELECT id FROM ac_contacts"))


def test_id_greater_with_orders_id_asc_walks_every_contact_once_in_order(ac, db_path):
    """The docs' performance tip: orders[id]=ASC with id_greater."""
    everyone = [r[0] for r in truth(db_path, "SELECT id FROM ac_contacts ORDER BY id")]
    walked, last = [], 0
    while True:
        page = _get(ac, "/contacts", limit=25, id_greater=last, **{"orders[id]": "ASC"}).json()
        ids = [int(c["id"]) for c in page["contacts"]]
        if not ids:
            break
        assert page["meta"]["total"] == str(sum(1 for i in everyone if i > last))
        walked += ids
        last = ids[-1]
    assert walked == everyone
    assert _contact_ids(ac, limit=5, **{"orders[id]": "DESC"}) == everyone[::-1][:5]


def test_default_order_is_by_email_as_in_the_docs_example(ac, db_path):
    emails = [c["email"] for c in _get(ac, "/contacts", limit=100).json()["contacts"]]
    assert emails == sorted(emails, key=str.lower)
    assert emails != [
        r[0] for r in truth(db_path, "SELECT email FROM ac_contacts ORDER BY id LIMIT 100")
    ]


# -- filters: reference/list-all-contacts ---------------------------------------------------------


def test_email_is_exact_but_search_and_email_like_are_substring(ac, db_path):
    (short_id,), (long_id,) = truth(
        db_path,
        "SELECT ac_id FROM seed_people WHERE email IN ('an@xs4all.nl', 'jan@xs4all.nl') "
        "ORDER BY email",
    )
    assert _contact_ids(ac, email="an@xs4all.nl") == [short_id]
    assert _contact_ids(ac, email="AN@XS4ALL.NL") == [short_id]  # case-insensitive
    assert sorted(_contact_ids(ac, search="an@xs4all.nl")) == sorted([short_id, long_id])
    assert sorted(_contact_ids(ac, email_like="an@xs4all.nl")) == sorted([short_id, long_id])


def test_updated_before_and_created_before_filters_match_the_truth(ac, db_path):
    cutoff = "2026-05-29T00:00:00Z"
    expected = {
        r[0]
        for r in truth(db_path, "SELECT ac_id FROM seed_people WHERE ac_updated < ?", (cutoff,))
    }
    got = set()
    for offset in range(0, 200, 100):
        got |= set(
            _contact_ids(ac, limit=100, offset=offset, **{"filters[updated_before]": cutoff})
        )
    assert got == expected and expected
    page = _get(ac, "/contacts", **{"filters[updated_before]": cutoff}).json()
    assert page["meta"]["total"] == str(len(expected))
    created = truth(
        db_path, "SELECT COUNT(*) FROM seed_people WHERE ac_created < '2025-01-01T00:00:00Z'"
    )[0][0]
    page = _get(ac, "/contacts", **{"filters[created_before]": "2025-01-01T00:00:00Z"}).json()
    assert page["meta"]["total"] == str(created)


def test_tagid_and_ids_filters(ac, db_path):
    tags = _get(ac, "/tags", search="legal").json()["tags"]
    assert [t["tag"] for t in tags] == ["legal-hold"]
    held = sorted(
        r[0]
        for r in truth(
            db_path, "SELECT ac_id FROM seed_people WHERE held = 1 AND ac_id IS NOT NULL"
        )
    )
    assert held
    assert sorted(_contact_ids(ac, tagid=tags[0]["id"], limit=100)) == held
    assert sorted(_contact_ids(ac, ids=",".join(map(str, held[:2])))) == held[:2]
    assert sorted(_contact_ids(ac, **{"ids[]": [str(i) for i in held[:2]]})) == held[:2]


# -- shapes: reference/get-contact ----------------------------------------------------------------


def test_contact_values_are_strings_with_account_offset_and_integer_ip(ac):
    contact = _get(ac, "/contacts/1").json()["contact"]
    for key in ("id", "email", "phone", "firstName", "lastName", "ip", "cdate", "udate", "hash"):
        assert isinstance(contact[key], str), key
    assert OFFSET.match(contact["cdate"]) and OFFSET.match(contact["udate"])  # America/Chicago
    assert contact["ip"].isdigit()


def test_get_contact_includes_related_records_and_404s(ac):
    body = _get(ac, "/contacts/1").json()
    assert set(body) >= {
        "contact",
        "contactLists",
        "fieldValues",
        "geoIps",
        "geoAddresses",
        "deals",
    }
    assert body["contact"]["contactLists"] == [item["id"] for item in body["contactLists"]]
    missing = _get(ac, "/contacts/999999")
    assert missing.status_code == 404
    assert missing.json() == {"message": "No Result found for Subscriber with id 999999"}
    for related in ("contactTags", "contactLists", "fieldValues", "trackingLogs", "geoIps"):
        assert _get(ac, f"/contacts/999999/{related}").status_code == 404
        assert related in _get(ac, f"/contacts/1/{related}").json()


# -- writes: reference/update-a-contact-new, reference/delete-contact ----------------------------


def test_delete_answers_empty_object_then_404(ac, db_path):
    first = ac.delete(ac.base + "/contacts/5", timeout=10)
    assert first.status_code == 200 and first.json() == {}
    second = ac.delete(ac.base + "/contacts/5", timeout=10)
    assert second.status_code == 404
    assert second.json() == {"message": "No result found for contact with id 5"}
    assert truth(db_path, "SELECT COUNT(*) FROM ac_contacts WHERE id = 5")[0][0] == 0
    assert truth(db_path, "SELECT COUNT(*) FROM ac_contact_lists WHERE contact = 5")[0][0] == 0


def test_every_write_sets_udate_to_now(sb, ac, db_path):
    before = _get(ac, "/contacts/3").json()["contact"]
    control(sb, "activecampaign", "now", json={"now": "2026-12-01T12:00:00Z"})
    put = ac.put(ac.base + "/contacts/3", json={"contact": {"phone": ""}}, timeout=10)
    assert put.status_code == 200
    after = put.json()["contact"]
    assert after["phone"] == "" and before["phone"] != ""
    assert after["udate"] == "2026-12-01T06:00:00-06:00"  # noon UTC in Chicago, winter time
    assert after["cdate"] == before["cdate"]

    control(sb, "activecampaign", "now", json={"advance_days": 1})
    tagged = ac.post(
        ac.base + "/contactTags", json={"contactTag": {"contact": "4", "tag": "3"}}, timeout=10
    )
    assert tagged.status_code in (200, 201)
    assert _get(ac, "/contacts/4").json()["contact"]["udate"] == "2026-12-02T06:00:00-06:00"

    control(sb, "activecampaign", "now", json={"advance_days": 1})
    unsub = ac.post(
        ac.base + "/contactLists",
        json={"contactList": {"list": "1", "contact": "6", "status": 2}},
        timeout=10,
    )
    assert unsub.status_code == 200 and unsub.json()["contactList"]["status"] == 2
    assert unsub.json()["contacts"][0]["udate"] == "2026-12-03T06:00:00-06:00"
    stored = truth(db_path, "SELECT udate FROM ac_contacts WHERE id = 6")[0][0]
    assert stored == datetime(2026, 12, 3, 12, tzinfo=UTC).timestamp() * 1000


def test_put_validates_email_and_updates_fields(ac):
    bad = ac.put(ac.base + "/contacts/2", json={"contact": {"email": "not an address"}}, timeout=10)
    assert bad.status_code == 422 and bad.json()["errors"][0]["code"] == "email_invalid"
    ok = ac.put(
        ac.base + "/contacts/2", json={"contact": {"firstName": "Zoë", "lastName": ""}}, timeout=10
    )
    assert ok.json()["contact"]["firstName"] == "Zoë" and ok.json()["contact"]["lastName"] == ""


def test_contact_tags_add_list_and_remove(ac):
    created = ac.post(
        ac.base + "/contactTags", json={"contactTag": {"contact": "7", "tag": "1"}}, timeout=10
    )
    assert created.status_code == 201
    association = created.json()["contactTag"]
    assert association["contact"] == "7" and association["tag"] == "1"
    listed = _get(ac, "/contacts/7/contactTags").json()["contactTags"]
    assert association["id"] in [t["id"] for t in listed]
    missing = ac.post(
        ac.base + "/contactTags", json={"contactTag": {"contact": "99999", "tag": "1"}}, timeout=10
    )
    assert (
        missing.status_code == 404 and missing.json()["errors"][0]["detail"] == "Contact not found"
    )
    invalid = ac.post(ac.base + "/contactTags", json={"contactTag": {"tag": "1"}}, timeout=10)
    assert (
        invalid.status_code == 422 and invalid.json()["errors"][0]["title"] == "Missing attribute"
    )
    removed = ac.delete(ac.base + f"/contactTags/{association['id']}", timeout=10)
    assert removed.status_code == 200
    assert ac.delete(ac.base + f"/contactTags/{association['id']}", timeout=10).status_code == 404


def test_lists(ac):
    lists = _get(ac, "/lists").json()
    assert lists["meta"]["total"] == "2" and lists["lists"][0]["name"] == "Nieuwsbrief"


# -- rate limit: reference/rate-limits ------------------------------------------------------------


def test_five_requests_per_second_then_429_with_retry_after(sb, ac):
    sb.activecampaign.limiter.configure(sb.activecampaign.default_rate_limit)
    statuses = [_get(ac, "/contacts", limit=1) for _ in range(8)]
    codes = [r.status_code for r in statuses]
    assert codes[:5] == [200] * 5
    limited = next(r for r in statuses if r.status_code == 429)
    assert int(limited.headers["Retry-After"]) >= 1
    time.sleep(int(limited.headers["Retry-After"]))
    assert _get(ac, "/contacts", limit=1).status_code == 200
    assert control(sb, "activecampaign", "rate_limit").json()["per_second"] == 5
