"""docker-compose.yaml, Dockerfile and .env.example, checked without Docker: the Compose
Specification's JSON schema, then what our stack promises (the official file's services, one
executor, shared secrets from .env, volumes, health checks, the sandbox wiring). The stack's
processes themselves run natively in test_distributed.py."""

from __future__ import annotations

import importlib.util
import json
import re
import uuid

import pytest
import sqlalchemy as sa
import yaml

from ks_privacy.policy import load_policy
from sandbox import credentials
from tests.conftest import REPO
from tests.fixtures.postgres import ADMIN_URL

SPEC = REPO.parent / "shared" / "compose-spec.json"
OFFICIAL_SERVICES = {  # Airflow 3.3's docker-compose.yaml
    "postgres",
    "redis",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-worker",
    "airflow-triggerer",
    "airflow-init",
    "airflow-cli",
    "flower",
}
ONE_SHOT = {"airflow-init", "airflow-cli"}
SHARED_SECRETS = (
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW_VAR_KS_PSEUDONYM_KEY",
)
# compose interpolation; `$${X}` is an escaped `${X}` the container's shell expands instead
INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?])?([^}]*)\}")
MOUNT = re.compile(r"^(?P<source>(?:\$\{[^}]*\})?[^:]*):(?P<target>[^:]+)(?::(?P<mode>\w+))?$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yaml").read_text())


@pytest.fixture(scope="module")
def airflow_services(compose) -> dict[str, dict]:
    """The services running the Airflow image (everything built from x-airflow-common)."""
    image = compose["x-airflow-common"]["image"]
    return {name: s for name, s in compose["services"].items() if s.get("image") == image}


def _mounts(service: dict) -> dict[str, tuple[str, str | None]]:
    """target -> (source, mode) of a service's short-syntax volumes."""
    parsed = (MOUNT.match(spec) for spec in service.get("volumes", []))
    return {m["target"]: (m["source"], m["mode"]) for m in parsed}


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def test_valid_against_the_compose_specification(compose):
    import jsonschema

    if not SPEC.exists():
        pytest.fail(
            f"{SPEC} is missing: the Compose Specification schema lives in ../shared next to "
            "the repository (CI's fresh clone has it there)",
            pytrace=False,
        )
    schema = json.loads(SPEC.read_text())
    errors = sorted(
        jsonschema.Draft7Validator(schema).iter_errors(compose), key=lambda e: list(e.path)
    )
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:20])


def test_every_service_of_the_official_file_and_the_sandbox(compose, airflow_services):
    assert set(compose["services"]) == OFFICIAL_SERVICES | {"sandbox"}
    assert set(airflow_services) == OFFICIAL_SERVICES - {"postgres", "redis"}
    commands = {name: airflow_services[name].get("command") for name in airflow_services}
    assert commands["airflow-apiserver"] == "api-server"
    assert commands["airflow-scheduler"] == "scheduler"
    assert commands["airflow-dag-processor"] == "dag-processor"
    assert commands["airflow-triggerer"] == "triggerer"
    assert commands["airflow-worker"] == "celery worker"
    assert compose["services"]["airflow-cli"]["profiles"] == ["debug"]
    assert compose["services"]["flower"]["profiles"] == ["flower"]


def test_one_celery_cluster_with_examples_off_and_dags_paused(airflow_services):
    for name, service in airflow_services.items():
        env = _env(service)
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://"), name
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql"), name
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql"), name
        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"].lower() == "false", name
        assert env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"].lower() == "true", name
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith(
            "http://airflow-apiserver:8080/"
        ), name
        assert not any(k.startswith("_PIP_ADDITIONAL") for k in env), name


def test_secrets_are_shared_and_come_from_dotenv(compose, airflow_services):
    """Every Airflow container gets the same Fernet key, JWT secret and pseudonym key, each
    required from .env (no default a deployment could silently run with)."""
    for variable in SHARED_SECRETS:
        values = {_env(s)[variable] for s in airflow_services.values()}
        assert len(values) == 1, f"{variable} differs between services: {values}"
        (value,) = values
        match = INTERPOLATION.fullmatch(value)
        assert match and match.group(1) == variable and match.group(2) == ":?", value
    audit = _env(compose["x-airflow-common"])["AIRFLOW_CONN_KS_AUDIT_DB"]
    assert "${KS_AUDIT_DB_PASSWORD:?" in audit
    assert "${_AIRFLOW_WWW_USER_PASSWORD:?" in _env(compose["services"]["airflow-init"]).get(
        "_AIRFLOW_WWW_USER_PASSWORD", ""
    )


def test_dotenv_example_names_every_variable_the_file_reads():
    text = (REPO / "docker-compose.yaml").read_text()
    required = {m.group(1) for m in INTERPOLATION.finditer(text) if m.group(2) in (":?", "?")}
    bare = {m.group(1) for m in INTERPOLATION.finditer(text) if not m.group(2)}
    example = (REPO / ".env.example").read_text()
    named = set(re.findall(r"^#?\s*([A-Za-z_][A-Za-z0-9_]*)=", example, re.MULTILINE))
    assert required <= named, f"not in .env.example: {sorted(required - named)}"
    assert bare <= named | {"AIRFLOW_UID"}, f"not in .env.example: {sorted(bare - named)}"
    for variable in required:  # secrets are never shipped with a value
        assert re.search(rf"^{variable}=$", example, re.MULTILINE), variable


def test_volumes_mounts_and_the_scalable_worker(compose, airflow_services):
    declared = set(compose["volumes"])
    for name, service in compose["services"].items():
        for target, (source, _mode) in _mounts(service).items():
            if not source.startswith(("$", ".", "/")):
                assert source in declared, f"{name} mounts undeclared volume {source} on {target}"
    for name, service in airflow_services.items():
        mounts = _mounts(service)
        for folder in ("dags", "plugins", "include", "logs", "config", "auth", "ks-exports"):
            assert f"/opt/airflow/{folder}" in mounts, f"{name} lacks /opt/airflow/{folder}"
        assert mounts["/opt/airflow/include"][0] == "${AIRFLOW_PROJ_DIR:-.}/include", name
        assert mounts["/opt/ks-sandbox"] == ("sandbox-data", "ro"), name
        assert mounts["/opt/airflow/ks-exports"] == ("ks-exports", None), name
        assert _env(service)["AIRFLOW_VAR_KS_EXPORT_BASE"] == "file:///opt/airflow/ks-exports/"
    worker = compose["services"]["airflow-worker"]
    assert "container_name" not in worker and "ports" not in worker  # --scale airflow-worker=N
    sandbox_mount = compose["services"]["sandbox"]["volumes"]
    assert sandbox_mount == ["sandbox-data:/opt/ks-sandbox"]


def test_health_checks_and_start_order(compose):
    services = compose["services"]
    for name, service in services.items():
        if name in ONE_SHOT:
            continue
        check = service.get("healthcheck", {}).get("test")
        assert check and check[0] in ("CMD", "CMD-SHELL"), f"{name} has no health check"
    for name, service in services.items():
        for dependency, how in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            condition = how["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency], (name, dependency)
            if condition == "service_completed_successfully":
                assert dependency in ONE_SHOT, (name, dependency)
    for name in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "sandbox"):
        assert services[name]["depends_on"]["airflow-init"]["condition"] == (
            "service_completed_successfully"
        )


def test_airflow_init_migrates_and_prepares_the_suite(compose):
    init = compose["services"]["airflow-init"]
    script = "\n".join(init["command"])
    env = _env(init)
    assert env["_AIRFLOW_DB_MIGRATE"] == "true"
    assert "include/init_deployment.py --create-databases --write-passwords-file" in script
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"].startswith("/opt/airflow/auth/")


def test_connections_point_at_the_sandbox_with_its_credentials(compose):
    """Each connection the policy names, and the audit database, is defined; the vendor ones
    reach the sandbox service on the ports and with the credentials it serves."""
    env = _env(compose["x-airflow-common"])
    policy = load_policy()
    for source in policy.sources.values():
        assert f"AIRFLOW_CONN_{source.connection.upper()}" in env, source.connection
    serve = compose["services"]["sandbox"]["command"][-1]
    ports = {
        flag: re.search(rf"--{flag}-port (\d+)", serve).group(1)
        for flag in ("ac", "google", "tawk")
    }
    assert "--public-host sandbox" in serve
    ac = json.loads(env["AIRFLOW_CONN_ACTIVECAMPAIGN_DEFAULT"])
    assert ac["host"] == f"http://sandbox:{ports['ac']}/api/3"
    assert ac["password"] == credentials.DEFAULT_AC_TOKEN
    google_conn = json.loads(env["AIRFLOW_CONN_GOOGLE_CONTACTS_DEFAULT"])
    assert google_conn["conn_type"] == "google_contacts"  # our hook: the contacts scope, Test
    google = google_conn["extra"]
    assert google["api_endpoint"] == f"http://sandbox:{ports['google']}/"
    assert google["subject"] == credentials.DEFAULT_GOOGLE_SUBJECT
    assert f"--write-keyfile {google['key_path']}" in serve
    tawk = json.loads(env["AIRFLOW_CONN_TAWK_DEFAULT"])
    assert tawk["host"] == f"http://sandbox:{ports['tawk']}"
    assert tawk["password"] == credentials.DEFAULT_TAWK_API_KEY
    assert tawk["extra"]["property_id"] == credentials.DEFAULT_TAWK_PROPERTY_ID
    healthcheck = " ".join(compose["services"]["sandbox"]["healthcheck"]["test"])
    assert f"localhost:{ports['ac']}/_sandbox/state" in healthcheck


def test_dockerfile_extends_the_official_image_with_our_lock(compose):
    dockerfile = (REPO / "Dockerfile").read_text()
    version = re.search(r"^ARG AIRFLOW_VERSION=(\S+)$", dockerfile, re.MULTILINE).group(1)
    lock = (REPO / "requirements.txt").read_text()
    assert re.search(rf"^apache-airflow=={re.escape(version)}$", lock, re.MULTILINE)
    assert re.search(
        r"^FROM apache/airflow:\S*\$\{AIRFLOW_VERSION\}\S* AS airflow$", dockerfile, re.M
    )
    # the wheel, installed (not editable) with the lock as constraints: no test tools inside
    assert "pip wheel" in dockerfile and "-c /requirements.txt" in dockerfile
    assert "--editable" not in dockerfile and "-r /requirements.txt" not in dockerfile
    targets = set(re.findall(r"^FROM \S+ AS (\S+)$", dockerfile, re.MULTILINE))
    for name, service in compose["services"].items():
        if "build" in service:
            assert service["build"]["target"] in targets, name
    image = compose["x-airflow-common"]["image"]
    assert image == f"${{AIRFLOW_IMAGE_NAME:-ks-privacy-airflow:{version}}}"
    allowed = [
        line[1:].rstrip("/")
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    # what is copied from the build context (not from another stage) must be in it
    context_copies = re.findall(r"^COPY (?!--from)(?:--\S+ )*(\S+) \S+$", dockerfile, re.MULTILINE)
    assert context_copies
    for source in context_copies:
        assert source.rstrip("/") in allowed, f"{source} is copied but .dockerignore excludes it"
        assert (REPO / source).exists(), source


def _init_deployment():
    spec = importlib.util.spec_from_file_location(
        "init_deployment", REPO / "include" / "init_deployment.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_init_deployment_creates_the_suites_databases_once(pg_admin, monkeypatch):
    """airflow-init's --create-databases on a real PostgreSQL: role and database of each suite
    connection on the metadata server, created when missing, left alone when present."""
    suffix = uuid.uuid4().hex[:8]
    role, database = f"ks_role_{suffix}", f"ks_db_{suffix}"
    url = sa.make_url(ADMIN_URL)
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", ADMIN_URL)
    monkeypatch.setenv(
        "AIRFLOW_CONN_KS_AUDIT_DB",
        f"postgresql://{role}:pw-{suffix}@{url.host}:{url.port or 5432}/{database}",
    )
    monkeypatch.setenv("AIRFLOW_CONN_WEBSITE_ACTIVITY_DB", "sqlite:////tmp/website.db")
    init = _init_deployment()
    try:
        init.create_databases()
        init.create_databases()  # the second `docker compose up`
        engine = sa.create_engine(
            url.set(username=role, password=f"pw-{suffix}", database=database),
            poolclass=sa.NullPool,
        )
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT current_user")) == role
        engine.dispose()
    finally:
        with pg_admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{role}"')
