"""Time helpers shared by the emulators: parsing, and each vendor's way of printing a timestamp.

Internally every timestamp is an integer: epoch milliseconds (UTC). Integers sort and index well
at a million rows and make "exactly 160 days ago" exact.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MS_PER_DAY = 86_400_000

_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")


def to_ms(dt: datetime) -> int:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return round(dt.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)


def parse_iso(text: str, default_tz: tzinfo = UTC) -> datetime:
    """ISO 8601 date or date-time; 'Z' allowed; a naive value is read in `default_tz`."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    if len(value) == 10:
        d = date.fromisoformat(value)
        dt = datetime(d.year, d.month, d.day)
    else:
        dt = datetime.fromisoformat(value.replace(" ", "T", 1))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=default_tz)
    return dt


def parse_iso_ms(text: str, default_tz: tzinfo = UTC) -> int:
    return to_ms(parse_iso(text, default_tz))


def rfc3339_utc(ms: int) -> str:
    """Google's JSON form of a protobuf Timestamp: UTC, 'Z', fraction only when non-zero."""
    dt = from_ms(ms)
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    millis = ms % 1000
    return f"{base}.{millis:03d}Z" if millis else f"{base}Z"


@lru_cache(maxsize=8192)
def _day_prefix(day: int) -> str:
    return time.strftime("%Y-%m-%dT", time.gmtime(day * 86_400))


def iso_utc_seconds(ms: int) -> str:
    """'2026-06-18T00:00:00Z' (fast: the seed formats millions of these)."""
    day, rest = divmod(ms // 1000, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{_day_prefix(day)}{hours:02d}:{minutes:02d}:{seconds:02d}Z"


def iso_utc_millis(ms: int) -> str:
    """'2026-05-01T10:00:00.000Z', the form JavaScript (and so Tawk's API) prints dates in."""
    dt = from_ms(ms)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def account_zone(spec: str) -> tzinfo:
    """An IANA zone name ('America/Chicago') or a fixed offset ('-05:00')."""
    match = _OFFSET.match(spec.strip())
    if match:
        sign = -1 if match.group(1) == "-" else 1
        minutes = int(match.group(2)) * 60 + int(match.group(3))
        return timezone(sign * timedelta(minutes=minutes))
    try:
        return ZoneInfo(spec)
    except (ZoneInfoNotFoundError, ValueError):
        # No tz database in the image: fall back to Chicago's standard-time offset.
        return timezone(timedelta(hours=-6))


def ac_local(ms: int, zone: tzinfo) -> str:
    """ActiveCampaign's form: the account's local time and offset, '2018-09-12T16:53:50-05:00'."""
    return from_ms(ms).astimezone(zone).isoformat(timespec="seconds")


def sql_utc(ms: int) -> str:
    """'2018-09-28 13:50:41', the form of ActiveCampaign's *_utc_timestamp fields."""
    return from_ms(ms).strftime("%Y-%m-%d %H:%M:%S")
