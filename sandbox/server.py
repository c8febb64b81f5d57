"""The running sandbox: three emulators, three ports, one process, one database.

from sandbox import Sandbox
with Sandbox("var/sandbox.db") as sb:          # port 0: free ports
    requests.get(sb.activecampaign_url + "/contacts", headers={"Api-Token": sb.ac_token})
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from sandbox.activecampaign import ActiveCampaign
from sandbox.credentials import CONTACTS_SCOPE, Credentials, keyfile_overrides, load_credentials
from sandbox.google_people import GooglePeople
from sandbox.http import Controls, RequestLog, SandboxHTTPServer, Service
from sandbox.store import Store
from sandbox.tawk import Tawk


class Sandbox:
    """ActiveCampaign, Google People (+ its OAuth token endpoint) and Tawk on their own ports."""

    def __init__(
        self,
        db_path: str | Path,
        *,
        host: str = "127.0.0.1",
        ac_port: int = 0,
        google_port: int = 0,
        tawk_port: int = 0,
        public_host: str | None = None,
        verbose: bool = False,
        ac_token: str | None = None,
        tawk_api_key: str | None = None,
        tawk_property_id: str | None = None,
        google_keyfile: str | Path | None = None,
        google_subject: str | None = None,
        ac_timezone: str | None = None,
    ) -> None:
        self.db_path = Path(db_path)
        self.host = host
        self.public_host = public_host or ("127.0.0.1" if host in ("0.0.0.0", "::", "") else host)
        self.verbose = verbose
        self._ports = {"activecampaign": ac_port, "google": google_port, "tawk": tawk_port}
        self.store = Store(self.db_path)
        overrides: dict[str, Any] = {
            "ac_token": ac_token,
            "tawk_api_key": tawk_api_key,
            "tawk_property_id": tawk_property_id,
            "google_subject": google_subject,
        }
        if google_keyfile:
            overrides.update(keyfile_overrides(google_keyfile))
        self.credentials: Credentials = load_credentials(self.store, **overrides)
        if ac_timezone:
            self.store.set_setting("ac_timezone", ac_timezone)
        self.log = RequestLog()
        self.controls = Controls(self.store, self.log)
        self.activecampaign = ActiveCampaign(self.store, self.credentials)
        self.google = GooglePeople(self.store, self.credentials)
        self.tawk = Tawk(self.store, self.credentials)
        self._servers: dict[str, SandboxHTTPServer] = {}
        self._threads: list[threading.Thread] = []

    # -- lifecycle ---------------------------------------------------------------------------------

    @property
    def services(self) -> dict[str, Service]:
        return {"activecampaign": self.activecampaign, "google": self.google, "tawk": self.tawk}

    def start(self) -> Sandbox:
        if self._servers:
            return self
        try:
            for name, service in self.services.items():
                server = SandboxHTTPServer(
                    (self.host, self._ports[name]),
                    service,
                    self.controls,
                    self.log,
                    verbose=self.verbose,
                )
                self._servers[name] = server
                self._ports[name] = server.server_address[1]
        except OSError:
            self.stop()
            raise
        for name, server in self._servers.items():
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"sandbox-{name}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        servers = list(self._servers.values())
        for server in servers:
            server.stopping.set()  # wakes requests sleeping in a "slow" fault
        stoppers = [threading.Thread(target=server.shutdown) for server in servers]
        for stopper in stoppers:  # in parallel: each waits up to one poll interval
            stopper.start()
        for stopper in stoppers:
            stopper.join()
        for server in servers:
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()
        self.store.close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Block until interrupted (the CLI's `serve`)."""
        self.start()
        try:
            threading.Event().wait()
        finally:
            self.stop()

    # -- where and how to reach it -----------------------------------------------------------------

    def port(self, service: str) -> int:
        return self._ports[service]

    def _base(self, service: str) -> str:
        return f"http://{self.public_host}:{self._ports[service]}"

    @property
    def activecampaign_url(self) -> str:
        return self._base("activecampaign") + "/api/3"

    @property
    def google_url(self) -> str:
        return self._base("google") + "/"

    @property
    def token_url(self) -> str:
        return self._base("google") + "/token"

    @property
    def tawk_url(self) -> str:
        return self._base("tawk") + "/v1"

    def control_url(self, service: str) -> str:
        return self._base(service) + "/_sandbox"

    @property
    def ac_token(self) -> str:
        return self.credentials.ac_token

    @property
    def tawk_api_key(self) -> str:
        return self.credentials.tawk_api_key

    @property
    def tawk_property_id(self) -> str:
        return self.credentials.tawk_property_id

    @property
    def google_subject(self) -> str:
        return self.credentials.google_subject

    @property
    def google_service_account_info(self) -> dict[str, Any]:
        return self.credentials.service_account_info(self.token_url)

    def write_keyfile(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.google_service_account_info, indent=2))
        path.chmod(0o600)
        return path

    def connections(self, website_db_url: str | None = None) -> dict[str, Any]:
        """URLs and credentials of the running sandbox, and Airflow connection definitions (the
        names the retention policy uses) the demo can create from them."""
        info = self.google_service_account_info
        result: dict[str, Any] = {
            "activecampaign": {
                "url": self.activecampaign_url,
                "api_token": self.ac_token,
                "auth_header": "Api-Token",
                "control_url": self.control_url("activecampaign"),
            },
            "google": {
                "api_endpoint": self.google_url,
                "token_uri": self.token_url,
                "subject": self.google_subject,
                "scopes": [CONTACTS_SCOPE],
                "service_account_info": info,
                "control_url": self.control_url("google"),
            },
            "tawk": {
                "url": self.tawk_url,
                "api_key": self.tawk_api_key,
                "property_id": self.tawk_property_id,
                "control_url": self.control_url("tawk"),
            },
            "airflow_connections": self.airflow_connections(),
        }
        if website_db_url:
            result["website"] = {"url": website_db_url}
            result["airflow_connections"]["website_activity_db"] = {"uri": website_db_url}
        return result

    def airflow_connections(self, pace: dict[str, Any] | None = None) -> dict[str, dict]:
        """Airflow connection definitions (the names the retention policy uses) for the running
        sandbox. `pace` (hook extras such as `requests_per_second`, `timeout`) applies to every
        vendor; without it ActiveCampaign keeps the hook's default, its documented 5/s (which the
        emulator enforces), and Google and Tawk run at 10/s (the emulators have no per-minute
        quota, so a demo need not wait for one)."""
        quick = pace or {"requests_per_second": 10}
        return {
            "activecampaign_default": {
                "conn_type": "activecampaign",
                "host": self.activecampaign_url,
                "password": self.ac_token,
                **({"extra": dict(pace)} if pace else {}),
            },
            "google_contacts_default": {
                "conn_type": "google_contacts",
                "extra": {
                    "keyfile_dict": json.dumps(self.google_service_account_info),
                    "subject": self.google_subject,
                    "api_endpoint": self.google_url,
                    **quick,
                },
            },
            "tawk_default": {
                "conn_type": "tawk",
                "host": self._base("tawk"),
                "password": self.tawk_api_key,
                "extra": {"property_id": self.tawk_property_id, **quick},
            },
        }

    def airflow_env(self, pace: dict[str, Any] | None = None) -> dict[str, str]:
        """`airflow_connections` as AIRFLOW_CONN_* environment variables (JSON values)."""
        return {
            f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(spec)
            for conn_id, spec in self.airflow_connections(pace).items()
        }

    def write_connections(self, path: str | Path, website_db_url: str | None = None) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.connections(website_db_url), indent=2))
        path.chmod(0o600)
        return path

    # -- inspection for tests ----------------------------------------------------------------------

    def requests(self, service: str | None = None) -> list[dict[str, Any]]:
        return self.log.entries(service)

    def set_now(self, iso: str) -> None:
        from sandbox.clock import parse_iso_ms

        self.store.set_now(parse_iso_ms(iso))
