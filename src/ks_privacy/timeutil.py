"""Time helpers: every timestamp the suite compares is an aware UTC datetime."""

from __future__ import annotations

from datetime import UTC, datetime


def to_utc(value: datetime) -> datetime:
    """Normalise to an aware, plain `datetime` in UTC. A naive value is refused: guessing its
    zone could delete early. (Subclasses such as pendulum's are rebuilt: adding a timedelta to
    one can silently drop its zone.)"""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime: a vendor timestamp without a UTC offset is ambiguous")
    utc = value.astimezone(UTC)
    return datetime(
        utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond, tzinfo=UTC
    )


def parse_timestamp(text: str | None) -> datetime | None:
    """Parse a vendor's ISO-8601 timestamp (`2026-05-01T10:00:00-05:00`, `...Z`) to aware UTC.

    Empty strings and ActiveCampaign's zero dates mean "no timestamp".
    """
    if not text or text.startswith("0000-00-00"):
        return None
    return to_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | str | None) -> datetime | None:
    """A value read back from the audit database as aware UTC (SQLite returns naive text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
