"""ActiveCampaign's JSON shapes: a contact and its related records as the v3 API shows them.

Every value a string, ids included; times in the account's zone with its offset; `ip` as an
integer string. Shapes are the examples on https://developers.activecampaign.com/reference
(get-contact, retrieve-contact-list-memberships, retrieve-contact-field-values,
retrieve-contact-geo-ips, retrieve-contact-tags, get-contacts-tracking-logsevents).
"""

from __future__ import annotations

import sqlite3
from datetime import tzinfo
from typing import Any

from sandbox.clock import ac_local, sql_utc
from sandbox.http import Response

CONTACT_LINKS = [
    "bounceLogs",
    "contactAutomations",
    "contactData",
    "contactGoals",
    "contactLists",
    "contactLogs",
    "contactTags",
    "contactDeals",
    "deals",
    "fieldValues",
    "geoIps",
    "notes",
    "organization",
    "plusAppend",
    "trackingLogs",
    "scoreValues",
]
CONTACT_COLUMNS = "id, email, first_name, last_name, phone, ip, ua, hash, cdate, udate"


def message(status: int, text: str) -> Response:
    return Response(status, {"message": text})


def errors(
    status: int, title: str, *, detail: str = "", code: str = "", pointer: str = ""
) -> Response:
    item: dict[str, Any] = {"title": title, "detail": detail}
    if code:
        item["code"] = code
    if pointer:
        item["source"] = {"pointer": pointer}
    return Response(status, {"errors": [item]})


def contact(row: tuple, base: str, zone: tzinfo) -> dict[str, Any]:
    cid, email, first, last, phone, ip, ua, hash_, cdate, udate = row
    return {
        "cdate": ac_local(cdate, zone),
        "email": email,
        "phone": phone,
        "firstName": first,
        "lastName": last,
        "orgid": "0",
        "segmentio_id": "",
        "bounced_hard": "0",
        "bounced_soft": "0",
        "bounced_date": None,
        "ip": str(ip),
        "ua": ua,
        "hash": hash_,
        "socialdata_lastcheck": None,
        "email_local": "",
        "email_domain": "",
        "sentcnt": "0",
        "rating_tstamp": None,
        "gravatar": "0",
        "deleted": "0",
        "anonymized": "0",
        "adate": None,
        "udate": ac_local(udate, zone),
        "edate": None,
        "deleted_at": None,
        "created_utc_timestamp": sql_utc(cdate),
        "updated_utc_timestamp": sql_utc(udate),
        "scoreValues": [],
        "links": {name: f"{base}/api/3/contacts/{cid}/{name}" for name in CONTACT_LINKS},
        "id": str(cid),
        "organization": None,
    }


def contact_lists(
    conn: sqlite3.Connection, cid: int, base: str, zone: tzinfo
) -> list[dict[str, Any]]:
    out = []
    for lid, list_id, status, sdate, udate, reason, ip4 in conn.execute(
        "SELECT id, list, status, sdate, udate, unsubreason, ip4_sub FROM ac_contact_lists "
        "WHERE contact = ? ORDER BY id",
        (cid,),
    ):
        out.append(
            {
                "contact": str(cid),
                "list": str(list_id),
                "form": None,
                "seriesid": "0",
                "sdate": ac_local(sdate, zone) if sdate else None,
                "udate": ac_local(udate, zone) if udate else None,
                "status": str(status),
                "responder": "1",
                "sync": "0",
                "unsubreason": reason,
                "campaign": None,
                "message": None,
                "ip4Sub": str(ip4),
                "sourceid": "0",
                "autosyncLog": None,
                "ip4_last": str(ip4),
                "ip4Unsub": "0",
                "unsubscribeAutomation": None,
                "links": {
                    name: f"{base}/api/3/contactLists/{lid}/{name}"
                    for name in (
                        "automation",
                        "list",
                        "contact",
                        "form",
                        "autosyncLog",
                        "campaign",
                        "unsubscribeAutomation",
                        "message",
                    )
                },
                "id": str(lid),
                "automation": None,
            }
        )
    return out


def field_value(row: tuple, base: str, zone: tzinfo) -> dict[str, Any]:
    """One custom field value (reference/retrieve-contact-field-values, list-all-custom-field-
    values): row = (id, contact, field, value, cdate, udate)."""
    fid, cid, field, value, cdate, udate = row
    return {
        "contact": str(cid),
        "field": str(field),
        "value": value,
        "cdate": ac_local(cdate, zone),
        "udate": ac_local(udate, zone),
        "links": {
            "owner": f"{base}/api/3/fieldValues/{fid}/owner",
            "field": f"{base}/api/3/fieldValues/{fid}/field",
        },
        "id": str(fid),
        "owner": str(cid),
    }


def field_values(
    conn: sqlite3.Connection, cid: int, base: str, zone: tzinfo
) -> list[dict[str, Any]]:
    return [
        field_value(row, base, zone)
        for row in conn.execute(
            "SELECT id, contact, field, value, cdate, udate FROM ac_field_values WHERE contact = ? "
            "ORDER BY id",
            (cid,),
        )
    ]


def geo_ips(conn: sqlite3.Connection, cid: int, base: str, zone: tzinfo) -> list[dict[str, Any]]:
    out = []
    for gid, ip4, tstamp, country2, country, state, city, zip_, tz in conn.execute(
        "SELECT id, ip4, tstamp, country2, country, state, city, zip, tz FROM ac_geo_ips "
        "WHERE contact = ? ORDER BY id",
        (cid,),
    ):
        out.append(
            {
                "contact": str(cid),
                "campaignid": "0",
                "messageid": "0",
                "geoaddrid": str(gid),
                "ip4": str(ip4),
                "tstamp": ac_local(tstamp, zone),
                "links": {"geoAddress": f"{base}/api/3/geoIps/{gid}/geoAddress"},
                "id": str(gid),
                "geoAddress": str(gid),
                "_address": (ip4, country2, country, state, city, zip_, tz, tstamp),
            }
        )
    return out


def geo_address(item: dict[str, Any], zone: tzinfo) -> dict[str, Any]:
    ip4, country2, country, state, city, zip_, tz, tstamp = item["_address"]
    return {
        "ip4": str(ip4),
        "country2": country2,
        "country": country,
        "state": state,
        "city": city,
        "zip": zip_,
        "area": "0",
        "lat": "0",
        "lon": "0",
        "tz": tz,
        "tstamp": ac_local(tstamp, zone),
        "links": [],
        "id": item["id"],
    }


def contact_tags(
    conn: sqlite3.Connection, cid: int, base: str, zone: tzinfo
) -> list[dict[str, Any]]:
    return [
        {
            "contact": str(cid),
            "tag": str(tag),
            "cdate": ac_local(cdate, zone),
            "created_timestamp": sql_utc(cdate),
            "updated_timestamp": sql_utc(cdate),
            "created_by": None,
            "updated_by": None,
            "links": {
                "contact": f"{base}/api/3/contactTags/{ctid}/contact",
                "tag": f"{base}/api/3/contactTags/{ctid}/tag",
            },
            "id": str(ctid),
        }
        for ctid, tag, cdate in conn.execute(
            "SELECT ct.id, ct.tag, ct.cdate FROM ac_contact_tags ct "
            "JOIN ac_tags t ON t.id = ct.tag WHERE ct.contact = ? ORDER BY ct.id",
            (cid,),
        )
    ]


def tracking_logs(
    conn: sqlite3.Connection, cid: int, base: str, zone: tzinfo
) -> list[dict[str, Any]]:
    return [
        {
            "subscriberid": str(cid),
            "type": type_,
            "value": value,
            "tstamp": ac_local(tstamp, zone),
            "hash": hash_,
            "links": {"contact": f"{base}/api/3/trackingLogs/{tid}/contact"},
            "id": str(tid),
            "contact": str(cid),
        }
        for tid, type_, value, hash_, tstamp in conn.execute(
            "SELECT id, type, value, hash, tstamp FROM ac_tracking_logs WHERE contact = ? "
            "ORDER BY id",
            (cid,),
        )
    ]
