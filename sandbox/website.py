"""The website-activity store: KlantenScoren's own SQL table of page events. Not an emulator: a
real table in PostgreSQL or SQLite (any SQLAlchemy URL) that the seed fills.

page_events(id, occurred_at UTC, visitor_id, contact_email NULL, ip, path), indexed on
occurred_at (the sweep's range scans) and on contact_email (a data subject's requests).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa

metadata = sa.MetaData()

page_events = sa.Table(
    "page_events",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("visitor_id", sa.String(64), nullable=False),
    sa.Column("contact_email", sa.String(320), nullable=True),
    sa.Column("ip", sa.String(45), nullable=False),
    sa.Column("path", sa.String(2048), nullable=False),
    sa.Index("page_events_occurred_at", "occurred_at"),
    sa.Index("page_events_contact_email", "contact_email"),
)


def engine(url: str | sa.URL) -> sa.Engine:
    return sa.create_engine(url, future=True)


def reset(eng: sa.Engine) -> None:
    """Drop and recreate page_events only (other tables in that database are left alone)."""
    page_events.drop(eng, checkfirst=True)
    page_events.create(eng)


def insert_events(eng: sa.Engine, rows: Iterable[Sequence], batch: int = 20_000) -> int:
    """rows: (occurred_at, visitor_id, contact_email, ip, path); inserted in big transactions."""
    keys = ("occurred_at", "visitor_id", "contact_email", "ip", "path")
    total = 0
    buffer: list[dict] = []
    with eng.begin() as conn:
        for row in rows:
            buffer.append(dict(zip(keys, row, strict=True)))
            if len(buffer) >= batch:
                conn.execute(page_events.insert(), buffer)
                total += len(buffer)
                buffer = []
        if buffer:
            conn.execute(page_events.insert(), buffer)
            total += len(buffer)
    return total


def count(eng: sa.Engine) -> int:
    with eng.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(page_events)).scalar_one()
