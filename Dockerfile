# syntax=docker/dockerfile:1
#
# The suite's Airflow image: the official apache/airflow image *extended*, as
# https://airflow.apache.org/docs/docker-stack/build.html#extending-the-image describes, with
# our pinned lock (requirements.txt) and the ks_privacy package. Everything is installed at build
# time; nothing at container start (no _PIP_ADDITIONAL_REQUIREMENTS).
#
#   docker compose build                       # both targets, as docker-compose.yaml names them
#   docker build --target airflow -t ks-privacy-airflow:3.3.2 .
#
# Targets: `airflow` (every Airflow service; what production runs) and `sandbox` (the same plus
# the vendor emulators in sandbox/, for the compose stack's `sandbox` service only).

ARG AIRFLOW_VERSION=3.3.2
ARG PYTHON_VERSION=3.11

# The slim image carries Airflow with few providers: the lock below then decides every version,
# the same set CI tests with (scripts/setup installs the same file into .venv).
FROM apache/airflow:slim-${AIRFLOW_VERSION}-python${PYTHON_VERSION} AS airflow
ARG AIRFLOW_VERSION

COPY --chown=airflow:0 requirements.txt /requirements.txt
RUN grep -qx "apache-airflow==${AIRFLOW_VERSION}" /requirements.txt \
    || { echo "requirements.txt does not pin apache-airflow==${AIRFLOW_VERSION}" >&2; exit 1; } \
 && pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /requirements.txt

# ks_privacy lives in /opt/airflow/plugins and finds its policy and audit schema in
# /opt/airflow/include (it looks for include/ next to plugins/). It is installed in editable
# mode, so that layout stays true and so the `apache_airflow_provider` entry point (our
# connection types in the UI) is registered. Compose mounts the working copies over these.
COPY --chown=airflow:0 pyproject.toml /opt/airflow/pyproject.toml
COPY --chown=airflow:0 plugins/ /opt/airflow/plugins/
COPY --chown=airflow:0 include/ /opt/airflow/include/
COPY --chown=airflow:0 dags/ /opt/airflow/dags/
# compose's airflow-init runs it: audit database and schema, pools, the admin's password
COPY --chown=airflow:0 scripts/init_deployment.py /opt/airflow/scripts/init_deployment.py
RUN pip install --no-cache-dir --no-deps --no-build-isolation --editable /opt/airflow \
 && python -c "import ks_privacy.audit_db as a; assert a.SCHEMA_DIR.is_dir(), a.SCHEMA_DIR"

ENV KS_POLICY_PATH=/opt/airflow/include/retention_policy.yaml


FROM airflow AS sandbox
# The emulators of ActiveCampaign, Google People and Tawk (see sandbox/README.md). Their data,
# the generated Google service-account keyfile and connections.json go to /opt/ks-sandbox, a
# volume the Airflow services mount read-only. Group 0 may write it: compose runs every
# container as ${AIRFLOW_UID}:0, as the official image expects.
USER root
RUN install -d -o airflow -g 0 -m 2775 /opt/ks-sandbox
USER airflow
COPY --chown=airflow:0 sandbox/ /opt/airflow/sandbox/
WORKDIR /opt/airflow
