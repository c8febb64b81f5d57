"""`python -m sandbox seed` and `serve`, as the demo and docker compose run them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import requests

from tests.fixtures.api_server import free_port
from tests.sandbox.helpers import NOW, REPO, truth


def test_seed_then_serve_with_a_connections_file(tmp_path):
    db, web = tmp_path / "sandbox.db", tmp_path / "website.db"
    seeded = subprocess.run(
        [
            sys.executable,
            "-m",
            "sandbox",
            "seed",
            "--db",
            str(db),
            "--website-db",
            f"sqlite:///{web}",
            "--contacts",
            "40",
            "--seed",
            "5",
            "--now",
            NOW,
            "--quiet",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert seeded.returncode == 0, seeded.stderr
    assert json.loads(seeded.stdout)["people"] == 40

    ports = [free_port() for _ in range(3)]
    connections = tmp_path / "connections.json"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "serve",
            "--db",
            str(db),
            "--host",
            "127.0.0.1",
            "--ac-port",
            str(ports[0]),
            "--google-port",
            str(ports[1]),
            "--tawk-port",
            str(ports[2]),
            "--write-connections",
            str(connections),
            "--website-db",
            f"sqlite:///{web}",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        urls = json.loads(server.stdout.readline())
        assert urls["activecampaign"] == f"http://127.0.0.1:{ports[0]}/api/3"
        info = json.loads(connections.read_text())
        ac = info["activecampaign"]
        r = requests.get(
            ac["url"] + "/contacts", headers={"Api-Token": ac["api_token"]}, timeout=10
        )
        assert r.status_code == 200 and r.json()["meta"]["total"] == str(
            truth(db, "SELECT COUNT(*) FROM ac_contacts")[0][0]
        )
        google = info["google"]
        assert google["service_account_info"]["type"] == "service_account"
        assert google["service_account_info"]["token_uri"] == f"http://127.0.0.1:{ports[1]}/token"
        assert set(info["airflow_connections"]) == {
            "activecampaign_default",
            "google_contacts_default",
            "tawk_default",
            "website_activity_db",
        }
        tawk = info["tawk"]
        r = requests.post(
            tawk["url"] + "/chat.list",
            auth=(tawk["api_key"], ""),
            json={"propertyId": tawk["property_id"]},
            timeout=10,
        )
        assert r.json()["ok"] is True
        requests.get(
            ac["url"] + "/contacts",
            params={"email": "zoe@example.nl"},
            headers={"Api-Token": ac["api_token"]},
            timeout=10,
        )
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=20)
    assert server.returncode == 0, err
    assert "activecampaign GET /api/3/contacts 200" in out
    assert "zoe@" not in out and "zoe@" not in err
