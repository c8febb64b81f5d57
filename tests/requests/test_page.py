"""The "Privacy requests" page (plugin `ks_audit`, /ks-requests/) in a real Airflow API server
app over HTTP: only signed-in users who may start the request DAG register through it; the
address travels in the POST body only, lands in the vault, and the run it starts carries the
reference only."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa

from ks_privacy.audit_db import engine_for_url, migrate
from ks_privacy.pseudonym import Pseudonymiser
from ks_privacy.vault import Vault
from tests.auditors.conftest import airflow_url
from tests.fixtures.api_server import bearer_token, serving_api_server
from tests.fixtures.postgres import temporary_database
from tests.fixtures.sandbox import PSEUDONYM_KEY
from tests.requests.scan import forms_of, scan_airflow_metadata

EMAIL = "Petra.Paginaformulier@Example.org"


@pytest.fixture(scope="module")
def server(pg_admin, airflow_db):
    """Airflow's API server app (core API, auth, plugins) with our plugin, the request DAGs
    parsed into its metadata database, and a fresh audit database."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db

    manager = DagBundlesManager()  # as dag.test() does: the bundle first, then its DAGs
    manager.sync_bundles_to_db()
    for bundle in manager.get_all_dag_bundles():
        bundle.initialize()
        bag = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
        sync_bag_to_db(bag, bundle.name, bundle.version)
    with temporary_database() as url, pytest.MonkeyPatch.context() as mp:
        engine = engine_for_url(url)
        migrate(engine)
        mp.setenv("AIRFLOW_CONN_KS_AUDIT_DB", airflow_url(url))
        mp.setenv("AIRFLOW_VAR_KS_PSEUDONYM_KEY", PSEUDONYM_KEY)

        def headers(role: str = "op", username: str = "olga") -> dict:
            return {"Authorization": f"Bearer {bearer_token(username, role)}"}

        with serving_api_server(mp) as base:
            yield {"base": base, "headers": headers, "engine": engine}
        engine.dispose()


def form(ref: str, **extra) -> dict:
    return {
        "kind": "erasure",
        "request_ref": ref,
        "subject_email": EMAIL,
        "received_on": "2026-11-20",
        "identity_verified": "on",
        "identity_verified_by": "Olga Ops",
        "reason": "request",
        "trigger": "on",
        **extra,
    }


def rows(engine, query: str, **params) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(query), params)]


def test_without_a_signed_in_user_nothing_is_shown_or_registered(server):
    with httpx.Client(base_url=server["base"], timeout=30) as client:
        assert client.get("/ks-requests/").status_code == 401
        refused = client.post("/ks-requests/register", data=form("REQ-2026-0901"))
        assert refused.status_code == 401 and "Sign in first" in refused.text
    assert (
        rows(server["engine"], "SELECT * FROM ks_requests WHERE request_ref = 'REQ-2026-0901'")
        == []
    )


def test_a_viewer_may_not_register(server):
    with httpx.Client(base_url=server["base"], timeout=30) as client:
        page = client.get("/ks-requests/", headers=server["headers"]("viewer"))
        assert page.status_code == 200 and "name='subject_email'" in page.text
        refused = client.post(
            "/ks-requests/register", data=form("REQ-2026-0902"), headers=server["headers"]("viewer")
        )
    assert refused.status_code == 403 and "may not start ks_request_erasure" in refused.text
    assert (
        rows(server["engine"], "SELECT * FROM ks_requests WHERE request_ref = 'REQ-2026-0902'")
        == []
    )


def test_registering_starts_a_run_that_carries_the_reference_only(server, capfd):
    ref = "REQ-2026-0903"
    capfd.readouterr()
    with httpx.Client(base_url=server["base"], timeout=30, headers=server["headers"]()) as client:
        done = client.post("/ks-requests/register", data=form(ref))
        listing = client.get("/ks-requests/")
        assert (
            client.get(
                "/ks-requests/register", params={"subject_email": "x@example.invalid"}
            ).status_code
            == 405
        )
    assert done.status_code == 200, done.text
    assert f"Request {ref} (erasure) registered" in done.text and "id='started'" in done.text
    assert ref in listing.text
    for form_ in forms_of(EMAIL):
        assert form_ not in done.text.lower() and form_ not in listing.text.lower()
    engine = server["engine"]
    (status, subject) = rows(
        engine, "SELECT status, subject_ref FROM ks_requests WHERE request_ref = :r", r=ref
    )[0]
    assert status == "open" and subject == Pseudonymiser(PSEUDONYM_KEY)(EMAIL)
    assert Vault(engine, Pseudonymiser(PSEUDONYM_KEY)).read(ref).email == EMAIL.lower()
    details = rows(
        engine,
        "SELECT details FROM ks_evidence WHERE event = 'request.registered' AND record_ref = :r",
        r=ref,
    )[0][0]
    assert '"registered_by":"olga"' in details
    from airflow import settings  # Airflow's own engine (see tests.requests.scan)

    with settings.get_engine().connect() as conn:
        run = conn.execute(
            sa.text(
                "SELECT conf, triggering_user_name FROM dag_run WHERE dag_id = "
                "'ks_request_erasure' AND triggering_user_name = 'olga'"
            )
        ).all()
    assert len(run) == 1 and run[0][1] == "olga"
    assert '"request_ref": "REQ-2026-0903"' in str(run[0][0]) or ref in str(run[0][0])
    assert scan_airflow_metadata(EMAIL) == []
    logged = capfd.readouterr()
    assert [f for f in forms_of(EMAIL) if f in (logged.out + logged.err).lower()] == []


def test_a_bad_address_is_refused_naming_the_field_with_evidence(server):
    ref = "REQ-2026-0904"
    with httpx.Client(base_url=server["base"], timeout=30, headers=server["headers"]()) as client:
        refused = client.post(
            "/ks-requests/register", data=form(ref, subject_email="j" * 96 + "@example.org")
        )
        cross_site = client.post(
            "/ks-requests/register",
            data=form("REQ-2026-0905"),
            headers={"Origin": "https://evil.example"},
        )
    assert refused.status_code == 400 and "`subject_email`" in refused.text
    assert "j" * 96 not in refused.text  # the input is not sent back
    engine = server["engine"]
    assert rows(engine, "SELECT * FROM ks_requests WHERE request_ref = :r", r=ref) == []
    evidence = rows(
        engine,
        "SELECT details FROM ks_evidence WHERE event = 'request.refused' AND record_ref = :r",
        r=ref,
    )
    assert evidence == [('{"field":"subject_email"}',)]
    assert cross_site.status_code == 403
    assert rows(engine, "SELECT * FROM ks_requests WHERE request_ref = 'REQ-2026-0905'") == []
