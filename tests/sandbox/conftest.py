"""A seeded sandbox per test: the seed runs once per session; each test gets its own copy of
the database and its own servers on free ports, so tests can delete freely."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import requests
from google.auth.transport.requests import Request as GoogleRequest
from google.oauth2 import service_account

from sandbox import Sandbox
from sandbox.credentials import CONTACTS_SCOPE
from sandbox.seed import seed
from tests.sandbox.helpers import CONTACTS, NOW, SEED, SUBJECT


@pytest.fixture(scope="session")
def seeded(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("sandbox-seed")
    db = root / "sandbox.db"
    web = root / "website.db"
    result = seed(db, f"sqlite:///{web}", contacts=CONTACTS, seed=SEED, now=NOW)
    return {"db": db, "website": web, "result": result}


@pytest.fixture
def db_path(seeded, tmp_path) -> Path:
    copy = tmp_path / "sandbox.db"
    shutil.copyfile(seeded["db"], copy)
    return copy


@pytest.fixture
def sb(db_path):
    """A running sandbox. ActiveCampaign's 5/s limit is lifted; test_rate_limit sets it back."""
    sandbox = Sandbox(db_path).start()
    sandbox.activecampaign.limiter.configure(None)
    yield sandbox
    sandbox.stop()


@pytest.fixture
def ac(sb) -> requests.Session:
    session = requests.Session()
    session.headers["Api-Token"] = sb.ac_token
    session.base = sb.activecampaign_url  # type: ignore[attr-defined]
    return session


@pytest.fixture
def google_token(sb) -> str:
    creds = service_account.Credentials.from_service_account_info(
        sb.google_service_account_info, scopes=[CONTACTS_SCOPE]
    ).with_subject(SUBJECT)
    creds.refresh(GoogleRequest())
    return creds.token


@pytest.fixture
def gapi(sb, google_token) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {google_token}"
    session.base = sb.google_url + "v1"  # type: ignore[attr-defined]
    return session


@pytest.fixture
def tawk(sb) -> requests.Session:
    session = requests.Session()
    session.auth = (sb.tawk_api_key, "")
    session.base = sb.tawk_url  # type: ignore[attr-defined]
    return session
