"""The auditors' page (plugin `ks_audit`) in a real Airflow API server app, served over HTTP:
refused without a signed-in user, and in a real headless Chromium: it loads, shows the chain
status, filters the evidence and looks a person up, without the address going anywhere."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from ks_privacy import signing
from ks_privacy.audit import report
from ks_privacy.audit_db import engine_for_url, migrate
from ks_privacy.policy import load_policy
from tests.auditors.conftest import PEOPLE, airflow_url, pseudonym, seed_evidence
from tests.fixtures.api_server import bearer_token, serving_api_server
from tests.fixtures.evidence_keys import SIGNING_KEY
from tests.fixtures.postgres import temporary_database
from tests.fixtures.sandbox import PSEUDONYM_KEY

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def server(pg_admin, airflow_db, tmp_path_factory):
    """Airflow's API server app (core API, auth, plugins) with only our plugin in its plugins
    folder, served by uvicorn on a free port, reading a seeded audit database."""
    with temporary_database() as url, pytest.MonkeyPatch.context() as mp:
        engine = engine_for_url(url)
        migrate(engine)
        seeded = seed_evidence(engine)
        reports = tmp_path_factory.mktemp("reports")
        end = datetime.now(UTC) + timedelta(minutes=1)
        key = signing.private_key_from_text(SIGNING_KEY)
        start = end - timedelta(days=31)
        report.write(engine, load_policy(), start, end, end, base=reports.as_uri(), key=key)
        mp.setenv("AIRFLOW_CONN_KS_AUDIT_DB", airflow_url(url))
        mp.setenv("AIRFLOW_VAR_KS_PSEUDONYM_KEY", PSEUDONYM_KEY)
        mp.setenv("AIRFLOW_VAR_KS_AUDIT_REPORT_BASE", reports.as_uri() + "/")
        mp.setenv("AIRFLOW_VAR_KS_AUDIT_PRIVATE_KEY", SIGNING_KEY)
        mp.setenv("AIRFLOW_VAR_KS_AUDIT_ANCHOR_BASE", (reports / "anchors").as_uri() + "/")
        # SimpleAuthManager's viewers are auditors only when named here (admins always are)
        mp.setenv("AIRFLOW__KS_PRIVACY__AUDITORS", "listed-viewer")

        def token(username: str = "auditor", role: str = "admin") -> str:
            return bearer_token(username, role)

        with serving_api_server(mp) as base:
            yield {"base": base, "token": token, "seeded": seeded, "engine": engine}
        engine.dispose()


PROTECTED = [
    ("GET", "/ks-audit/"),
    ("GET", "/ks-audit/report"),
    ("GET", "/ks-audit/report.csv"),
    ("GET", "/ks-audit/report.json"),
    ("GET", "/ks-audit/report.html.sig"),
    ("GET", "/ks-audit/evidence.csv"),
    ("GET", "/ks-audit/status.json"),
    ("POST", "/ks-audit/lookup"),
]
HEADERS = {
    "content-security-policy": "default-src 'none'",
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}


def _rows(server, where: str = "") -> int:
    with server["engine"].connect() as conn:
        return conn.exec_driver_sql(f"SELECT COUNT(*) FROM ks_evidence {where}").scalar()


def _client(server, username: str = "auditor", role: str = "admin") -> httpx.Client:
    headers = {"Authorization": f"Bearer {server['token'](username, role)}"}
    return httpx.Client(base_url=server["base"], headers=headers, timeout=30)


def _secure(response) -> bool:
    return all(value in response.headers.get(name, "") for name, value in HEADERS.items())


def test_without_a_signed_in_user_everything_is_refused(server):
    with httpx.Client(base_url=server["base"], timeout=30) as client:
        for method, path in PROTECTED:
            data = {"email": PEOPLE["anna"]} if method == "POST" else None
            response = client.request(method, path, data=data)
            assert response.status_code == 401, (method, path)
            assert "Sign in first" in response.text and _secure(response), path
            assert "ps_" not in response.text and "ks_evidence" not in response.text
        client.cookies.set("_token", "forged.token.value")
        assert client.get("/ks-audit/").status_code == 403
        expired = client.get("/ks-audit/", headers={"Authorization": "Bearer nope"})
        assert expired.status_code == 403


@pytest.mark.parametrize(
    ("username", "role", "allowed"),
    [
        ("viewer-1", "viewer", False),
        ("user-1", "user", False),
        ("op-1", "op", False),
        ("listed-viewer", "viewer", True),  # named in [ks_privacy] auditors
        ("boss", "admin", True),
    ],
)
def test_only_auditors_see_the_page_its_exports_and_the_lookup(server, username, role, allowed):
    before = _rows(server, "WHERE event = 'audit.lookup'")
    with _client(server, username, role) as client:
        for method, path in PROTECTED:
            data = {"email": PEOPLE["carla"]} if method == "POST" else None
            response = client.request(method, path, data=data)
            if allowed:
                assert response.status_code == 200, (username, path, response.text[:300])
            else:
                assert response.status_code == 403, (username, path)
                assert "Auditors only" in response.text and _secure(response)
                assert pseudonym(PEOPLE["carla"]) not in response.text
                assert "REQ-2026" not in response.text and "erase.outcome" not in response.text
    after = _rows(server, "WHERE event = 'audit.lookup'")
    assert after - before == (1 if allowed else 0)  # a refused user looked nobody up


def test_the_page_shows_status_report_and_filtered_evidence(server):
    with _client(server) as client:
        page = client.get("/ks-audit/")
        assert page.status_code == 200
        rows = _rows(server)
        assert f"audit chain intact: {rows} rows, head #{rows}" in page.text
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"
        assert "Open the report" in page.text
        assert f"{rows} matching rows" in page.text

        tawk = client.get("/ks-audit/", params={"source": "tawk"})
        assert "4 matching rows" in tawk.text
        assert "activecampaign</td>" not in tawk.text.split('id="evidence-table"')[1]

        latest = client.get("/ks-audit/report")
        assert latest.status_code == 200 and "privacy audit report" in latest.text
        signature = client.get("/ks-audit/report.html.sig")
        public = signing.private_key_from_text(SIGNING_KEY).public_key()
        assert signing.verify(public, latest.content, signature.content)
        assert client.get("/ks-audit/report.csv").text.startswith("seq,recorded_at,")
        exported = client.get("/ks-audit/evidence.csv", params={"event": "verify"})
        assert len(exported.text.strip().splitlines()) == 1 + 4

        plugins = client.get("/api/v2/plugins").json()["plugins"]
        (ours,) = [p for p in plugins if p["name"] == "ks_audit"]
        assert ours["fastapi_apps"][0]["url_prefix"] == "/ks-audit"
        assert ours["external_views"][0]["url_route"] == "ks-audit"


def test_every_response_json_and_errors_too_has_the_security_headers(server):
    with _client(server) as client:
        for path in ("/ks-audit/status.json", "/ks-audit/report.json", "/ks-audit/evidence.csv"):
            response = client.get(path)
            assert response.status_code == 200 and _secure(response), path
        assert client.get("/ks-audit/status.json").json()["chain_intact"] is True
        missing = client.get("/ks-audit/nothing-here")
        assert missing.status_code == 404 and _secure(missing)
        assert _secure(client.get("/ks-audit/", params={"date_from": "not-a-date"}))


def test_lookup_takes_the_address_in_the_body_and_is_evidence(server, capfd):
    email = PEOPLE["bram"]
    with _client(server) as client:
        capfd.readouterr()
        found = client.post("/ks-audit/lookup", data={"email": email})
        assert found.status_code == 200
        assert pseudonym(email) in found.text
        assert "1x erase.outcome erased" in found.text
        assert email.strip().lower() not in found.text.lower()
        assert "Bram.Jansen" not in found.text
        assert client.post("/ks-audit/lookup", data={"email": "nonsense"}).status_code == 400
        logged = capfd.readouterr()
        assert "/ks-audit/lookup" in logged.out  # the request is in the access log ...
        assert "bram.jansen" not in (logged.out + logged.err).lower()  # ... the address is not
        # the lookup never takes the address from a URL (which would land in logs and history)
        assert client.get("/ks-audit/lookup").status_code == 405

    # the lookup is evidence: who, when, the pseudonym; the address nowhere in the trail
    with server["engine"].connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT seq, source, subject_ref, details FROM ks_evidence "
            "WHERE event = 'audit.lookup' ORDER BY seq DESC LIMIT 1"
        ).one()
        everything = " ".join(
            str(v) for r in conn.exec_driver_sql("SELECT * FROM ks_evidence") for v in r
        ).lower()
    assert (row.source, row.subject_ref, row.details) == (
        "audit-page",
        pseudonym(email),
        '{"by":"auditor"}',
    )
    assert f"This lookup is evidence row #{row.seq}" in found.text
    assert "bram.jansen" not in everything


def test_lookups_are_rate_limited_per_user(server, monkeypatch):
    monkeypatch.setenv("AIRFLOW__KS_PRIVACY__LOOKUPS_PER_HOUR", "3")
    with _client(server, "busy-auditor") as busy, _client(server, "calm-auditor") as calm:
        answers = [busy.post("/ks-audit/lookup", data={"email": PEOPLE["anna"]}) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert "busy-auditor has looked up 3 people in the last hour (limit 3)" in answers[3].text
        assert _secure(answers[3]) and pseudonym(PEOPLE["anna"]) not in answers[3].text
        assert calm.post("/ks-audit/lookup", data={"email": PEOPLE["anna"]}).status_code == 200
    assert (
        _rows(server, "WHERE event = 'audit.lookup' AND details = '{\"by\":\"busy-auditor\"}'") == 3
    )


def test_an_address_in_a_query_string_never_reaches_the_access_log(server, capfd):
    """Measured against the api-server's real access log (Airflow's HttpAccessLogMiddleware,
    which logs every finished request with its path and query)."""
    address = "anna.de.vries@example.nl"
    with _client(server) as client:
        capfd.readouterr()
        harmless = client.get("/ks-audit/", params={"source": "tawk"})
        assert harmless.status_code == 200
        careless = [
            client.get("/ks-audit/", params={"subject": address}),
            client.get("/ks-audit/evidence.csv", params={"ref": address.upper()}),
            client.get("/ks-audit/status.json?q=" + address.replace("@", "%2540")),
            client.get("/ks-audit/lookup", params={"email": address}),
        ]
        logged = capfd.readouterr()
    for response in careless:
        assert response.status_code == 400 and _secure(response)
        assert "lookup form" in response.text and address not in response.text
    log_text = logged.out + logged.err
    access = [line for line in log_text.splitlines() if "request finished" in line]
    # the log is the right one: it has the harmless request with its query ...
    assert any("/ks-audit/" in line and "source=tawk" in line for line in access), log_text[-3000:]
    # ... and a line for each refused request, its query blanked, the address in no form
    refused = [line for line in access if "status_code=400" in line and "path=/ks-audit" in line]
    assert len(refused) == len(careless) and all("query= " in line for line in refused), refused
    for form in ("anna.de.vries", "ANNA.DE.VRIES", "%40example", "%2540example"):
        assert form.lower() not in log_text.lower(), form


@pytest.mark.browser
def test_in_a_real_headless_chromium(server, tmp_path):
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("KS_SKIP_BROWSER") == "1":
            pytest.skip("KS_SKIP_BROWSER=1")
        pytest.fail(
            "the page test needs Debian's chromium and chromium-driver: "
            "apt-get install -y chromium chromium-driver (or set KS_SKIP_BROWSER=1)",
            pytrace=False,
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    os.environ.setdefault("SE_AVOID_STATS", "true")
    options.add_argument("--window-size=1280,1600")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    wait = WebDriverWait(driver, 30)
    shots = os.environ.get("KS_SCREENSHOT_DIR")  # set it to look at what the test saw

    def shot(name: str) -> None:
        if shots:
            driver.save_screenshot(os.path.join(shots, f"{name}.png"))

    try:
        # not signed in: refused
        driver.get(server["base"] + "/ks-audit/")
        assert "Sign in first" in driver.find_element(By.TAG_NAME, "h1").text
        shot("0-refused")

        # signed in the way the Airflow UI is: its `_token` cookie
        driver.add_cookie({"name": "_token", "value": server["token"](), "path": "/"})  # admin
        driver.get(server["base"] + "/ks-audit/")
        status = wait.until(ec.presence_of_element_located((By.ID, "chain-status")))
        rows = _rows(server)
        assert status.text.startswith(f"audit chain intact: {rows} rows, head #{rows} ")
        assert "ok" in status.get_attribute("class")
        shot("1-overview")

        # filter the evidence table
        Select(driver.find_element(By.NAME, "event")).select_by_value("erase.outcome")
        driver.find_element(By.ID, "filter-submit").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "evidence-count"), "3 matching"))
        cells = driver.find_elements(By.CSS_SELECTOR, "#evidence-table tbody td:nth-child(3)")
        assert {c.text for c in cells} == {"erase.outcome"}
        shot("2-filtered")

        # look a person up
        email = PEOPLE["anna"]
        field = driver.find_element(By.ID, "lookup-email")
        field.send_keys(email)
        driver.find_element(By.ID, "lookup-submit").click()
        shown = wait.until(ec.presence_of_element_located((By.ID, "pseudonym")))
        shot("3-lookup")
        assert shown.text == pseudonym(email)
        assert int(driver.find_element(By.ID, "lookup-count").text) == 8  # 6 sweep, 2 request
        summary = driver.find_element(By.ID, "lookup-summary").text
        assert "manual.confirmed erased" in summary and "erase.outcome erased" in summary
        assert email not in driver.page_source
        assert driver.find_element(By.ID, "lookup-email").get_attribute("value") == ""
        assert "/ks-audit/lookup" in driver.current_url and email not in driver.current_url
    finally:
        driver.quit()
