"""Shared constants and small helpers for the sandbox contract tests."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from sandbox import Sandbox

NOW = "2026-11-25T00:00:00Z"
NOW_DT = datetime(2026, 11, 25, tzinfo=UTC)
SEED = 42
CONTACTS = 150
SUBJECT = "ops@klantenscoren.nl"


def control(sb: Sandbox, service: str, path: str, **kwargs) -> requests.Response:
    """A /_sandbox/ control call: POST when a json body is given, else GET (or `method`)."""
    method = kwargs.pop("method", "POST" if "json" in kwargs else "GET")
    return requests.request(method, f"{sb.control_url(service)}/{path}", timeout=10, **kwargs)


def truth(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows from the sandbox database (the seed's truth table and the emulators' state)."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def days_ago(days: float) -> datetime:
    return NOW_DT - timedelta(days=days)


REPO = Path(__file__).resolve().parents[2]
