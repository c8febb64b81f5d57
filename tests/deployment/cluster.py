"""Airflow's own distributed set-up, run natively: the processes of `docker-compose.yaml`
(api-server, scheduler, dag-processor, triggerer, Celery workers) as subprocesses of this
machine, with CeleryExecutor, PostgreSQL (metadata, audit trail) and Redis (broker), against the
seeded sandbox emulators. `Deployment` (tests/deployment/deployment.py) starts it with everything
it needs; the REST API calls here are the way an operator's tooling (or a person) would use it.

Nothing here replaces a piece of Airflow: the executor, queues, workers and the API are Airflow's.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import requests
import sqlalchemy as sa
from cryptography.fernet import Fernet

from devtools.hitl import Answer, Refusal
from tests.deployment.people import ADMIN_USER, USERS
from tests.fixtures.api_server import free_port

REPO = Path(__file__).resolve().parents[2]
CELERY_CONFIG = "tests.deployment.celery_config.CELERY_CONFIG"
INIT_SCRIPT = str(REPO / "include" / "init_deployment.py")
REDIS_URL = os.environ.get("KS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RETENTION, ERASURE = "ks_retention_daily", "ks_request_erasure"
FINISHED = ("success", "failed")
POLL_SECONDS = 2  # how often a run is looked at: every request costs the api-server CPU


class ClusterError(RuntimeError):
    """The cluster did not come up or a run did not finish; the message says which and why."""


def _libpq(url: sa.URL, scheme: str = "postgresql") -> str:
    return url.set(drivername=scheme).render_as_string(hide_password=False)


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path

    def said(self, text: str) -> bool:
        return self.log.exists() and text in self.log.read_text(errors="replace")

    def tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return "(no output)"
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


class NativeCluster:
    """Airflow's processes on this machine, one process group each, output in `logs/`."""

    def __init__(
        self,
        home: Path,
        metadata_url: sa.URL,
        env: dict[str, str],
        *,
        workers: int = 1,
        concurrency: int = 8,
    ):
        self.home = home
        self.logs = home / "process-logs"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.queue = f"ks-{uuid.uuid4().hex[:8]}"  # ours alone: no other run's worker takes it
        self.workers = workers
        self.concurrency = concurrency
        self.passwords = {user: secrets.token_urlsafe(12) for user in USERS}
        self.password = self.passwords[ADMIN_USER]
        self.processes: list[Process] = []
        self._tokens: dict[str, str] = {}
        self.env = {
            # this cluster's configuration only: nothing Airflow reads leaks in from outside
            **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "_AIRFLOW"))},
            **env,
            "AIRFLOW_HOME": str(home),
            "PYTHONPATH": str(REPO),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": _libpq(metadata_url, "postgresql+psycopg2"),
            "AIRFLOW__CELERY__BROKER_URL": REDIS_URL,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + _libpq(metadata_url),
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": self.queue,
            "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": CELERY_CONFIG,
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(64),
            "AIRFLOW__API_AUTH__JWT_ISSUER": "ks-privacy-ops",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            # the DAG files do not change during a run: re-parsing them only takes CPU from tasks
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
            # Runs here are triggered through the API only: no scheduled run may race them.
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(
                f"{user}:{role}" for user, role in USERS.items()
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            "_AIRFLOW_WWW_USER_USERNAME": ADMIN_USER,
            "_AIRFLOW_WWW_USER_PASSWORD": self.password,
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "KS_RETRY_DELAY_SECONDS": "1",
        }

    # -- lifecycle ---------------------------------------------------------------------------------

    def python(self, *args: str, timeout: float = 300) -> str:
        """A Python command with this cluster's configuration; fails loudly."""
        result = subprocess.run(
            [sys.executable, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise ClusterError(
                f"`{' '.join(args)}` failed (rc {result.returncode}):\n"
                f"{result.stderr[-3000:] or result.stdout[-3000:]}"
            )
        return result.stdout

    def prepare(self) -> None:
        """What compose's airflow-init does: `airflow db migrate`, then include/init_deployment.py
        (the admin's password, the audit schema, one pool per source)."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        self.python("-m", "airflow", "db", "migrate")
        self.python(INIT_SCRIPT, "--write-passwords-file")
        # the approver's login beside the admin's (init_deployment.py writes the admin's only)
        passwords = Path(self.env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
        passwords.write_text(json.dumps({**json.loads(passwords.read_text()), **self.passwords}))

    def start(self) -> None:
        self._spawn("api-server", "api-server", "--host", "127.0.0.1", "--port", str(self.port))
        self._spawn("scheduler", "scheduler")
        self._spawn("dag-processor", "dag-processor")
        self._spawn("triggerer", "triggerer")
        for n in range(1, self.workers + 1):
            self._spawn(
                f"worker-{n}",
                "celery",
                "worker",
                "--queues",
                self.queue,
                "--concurrency",
                str(self.concurrency),
                "--celery-hostname",
                f"worker-{n}-{self.queue}@%h",  # unique even beside another run's workers
                # one log folder on one machine: the api-server reads task logs from disk
                "--skip-serve-logs",
            )

    def _spawn(self, name: str, *args: str) -> None:
        log = self.logs / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                [sys.executable, "-m", "airflow", *args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: stopped with all its children
            )
        self.processes.append(Process(name, popen, log))

    def stop(self, grace: float = 20) -> None:
        """SIGTERM every process group (workers first), SIGKILL whatever is left after `grace`."""
        ordered = sorted(self.processes, key=lambda p: not p.name.startswith("worker"))
        for proc in ordered:
            _signal_group(proc.popen, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in ordered:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
        for proc in ordered:
            _signal_group(proc.popen, signal.SIGKILL)  # stragglers: forked children included
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.popen.wait(timeout=5)
        self._forget_queue()

    def _forget_queue(self) -> None:
        with contextlib.suppress(Exception):
            import redis

            redis.Redis.from_url(REDIS_URL, socket_timeout=2).delete(self.queue)

    def wait_ready(self, dag_ids: list[str], timeout: float = 300) -> None:
        """Health of every component (as /api/v2/monitor/health reports it), a Celery worker
        that says ready, and the DAGs parsed into the database."""
        deadline = time.monotonic() + timeout
        self._until(deadline, "the api-server answers", self._api_up)
        # the Execution API (what workers call) builds itself on its first request: not in a task
        self._until(deadline, "the execution API answers", self._execution_api_up)
        self._until(
            deadline, "scheduler, dag-processor and triggerer report healthy", self._healthy
        )
        for proc in self.processes:
            if proc.name.startswith("worker"):
                self._until(deadline, f"{proc.name} is ready", lambda p=proc: p.said(" ready."))
        for dag_id in dag_ids:
            self._until(
                deadline,
                f"{dag_id} is parsed",
                lambda d=dag_id: self.get(f"/api/v2/dags/{d}", missing_ok=True) is not None,
            )

    def _until(self, deadline: float, what: str, check: Callable[[], bool]) -> None:
        while True:
            self.check_alive()
            with contextlib.suppress(requests.RequestException):
                if check():
                    return
            if time.monotonic() > deadline:
                raise ClusterError(f"timed out waiting until {what}")
            time.sleep(0.5)

    def _api_up(self) -> bool:
        return requests.get(f"{self.url}/api/v2/monitor/health", timeout=5).ok

    def _execution_api_up(self) -> bool:
        return requests.get(f"{self.url}/execution/health", timeout=30).ok

    def _healthy(self) -> bool:
        health = requests.get(f"{self.url}/api/v2/monitor/health", timeout=5).json()
        parts = ("metadatabase", "scheduler", "dag_processor", "triggerer")
        return all((health.get(p) or {}).get("status") == "healthy" for p in parts)

    def check_alive(self) -> None:
        for proc in self.processes:
            if proc.popen.poll() is not None:
                raise ClusterError(f"{proc.name} exited with rc {proc.popen.returncode}")

    def tails(self, lines: int = 40) -> str:
        return "\n".join(
            f"----- {p.name} (rc {p.popen.poll()}), last {lines} lines of {p.log} -----\n"
            f"{p.tail(lines)}"
            for p in self.processes
        )

    # -- the REST API, as a person's script would use it -------------------------------------------

    def _headers(self, user: str = ADMIN_USER) -> dict[str, str]:
        if user not in self._tokens:
            response = requests.post(
                f"{self.url}/auth/token",
                json={"username": user, "password": self.passwords[user]},
                timeout=10,
            )
            response.raise_for_status()
            self._tokens[user] = response.json()["access_token"]
        return {"Authorization": f"Bearer {self._tokens[user]}"}

    def _call(
        self,
        method: str,
        path: str,
        body: dict | None = None,
        missing_ok: bool = False,
        user: str = ADMIN_USER,
    ):
        response = requests.request(
            method, f"{self.url}{path}", json=body, headers=self._headers(user), timeout=30
        )
        if missing_ok and response.status_code == 404:
            return None
        if not response.ok:
            raise ClusterError(f"{method} {path} -> {response.status_code}: {response.text[:500]}")
        return response.json()

    def get(self, path: str, missing_ok: bool = False):
        return self._call("GET", path, missing_ok=missing_ok)

    def unpause(self, dag_id: str) -> None:
        self._call("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str, conf: dict, logical_date: str | None = None) -> str:
        run = self._call(
            "POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": logical_date, "conf": conf}
        )
        return run["dag_run_id"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances?limit=500"
        return self.get(path)["task_instances"]

    def wait_for_run(
        self,
        dag_id: str,
        run_id: str,
        answers: dict[str, Answer | list[Answer]],
        timeout: float = 600,
        refused: list[Refusal] | None = None,
    ) -> str:
        """Poll the run until it finishes; answer its HITL tasks on the way through the HITL REST
        endpoint, as the person named in the answer would in the UI (a 403 is kept in `refused`
        and the next answer tried). Returns the final state."""
        run_path = f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}"
        deadline = time.monotonic() + timeout
        answered: set[str] = set()
        attempts = {k: list(v) if isinstance(v, list) else [v] for k, v in answers.items()}
        while True:
            self.check_alive()
            state = self.get(run_path)["state"]
            if state in FINISHED:
                return state
            pending = self.get(f"{run_path}/hitlDetails?response_received=false")["hitl_details"]
            for detail in pending:
                ti = detail["task_instance"]
                if not attempts.get(ti["task_id"]) or ti["task_id"] in answered:
                    continue
                option, before, *who = attempts[ti["task_id"]].pop(0)
                user = who[0] if who else ADMIN_USER
                if before is not None:
                    before()
                response = requests.patch(
                    f"{self.url}{run_path}/taskInstances/{ti['task_id']}/{ti['map_index']}"
                    "/hitlDetails",
                    json={"chosen_options": [option], "params_input": {}},
                    headers=self._headers(user),
                    timeout=30,
                )
                if response.status_code == 403 and refused is not None:
                    detail_text = response.json().get("detail", response.text)
                    refused.append(Refusal(ti["task_id"], user, 403, str(detail_text)))
                    continue
                if not response.ok:
                    raise ClusterError(
                        f"answering {ti['task_id']} as {user} -> {response.status_code}: "
                        f"{response.text[:500]}"
                    )
                answered.add(ti["task_id"])
            if time.monotonic() > deadline:
                states = {t["task_id"]: t["state"] for t in self.task_instances(dag_id, run_id)}
                said = "; ".join(
                    f"{r.task_id}: {r.user} refused ({r.detail})" for r in refused or ()
                )
                raise ClusterError(
                    f"{dag_id} {run_id} still {state} after {timeout:.0f} s: {states}; "
                    f"answered {sorted(answered) or 'nothing'}; {said or 'no answer refused'}"
                )
            time.sleep(POLL_SECONDS)


def _signal_group(popen: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(popen.pid, sig)
