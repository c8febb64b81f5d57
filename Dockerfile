# syntax=docker/dockerfile:1
#
# The suite's Airflow image: the official apache/airflow image *extended*, as
# https://airflow.apache.org/docs/docker-stack/build.html#extending-the-image describes, with
# the ks_privacy wheel and its runtime dependencies at the versions of our lock. Everything is
# installed at build time; nothing at container start (no _PIP_ADDITIONAL_REQUIREMENTS).
#
#   docker compose build                       # both targets, as docker-compose.yaml names them
#   docker build --target airflow -t ks-privacy-airflow:3.3.2 .
#
# Targets: `airflow` (every Airflow service; what production runs) and `sandbox` (the same plus
# the vendor emulators in sandbox/, for the compose stack's `sandbox` service only).

ARG AIRFLOW_VERSION=3.3.2
ARG PYTHON_VERSION=3.11

# The wheel of ks_privacy (package data included: default policy, audit schema, templates).
FROM apache/airflow:slim-${AIRFLOW_VERSION}-python${PYTHON_VERSION} AS wheel
COPY --chown=airflow:0 pyproject.toml /build/pyproject.toml
COPY --chown=airflow:0 src/ /build/src/
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /tmp/dist /build

# The slim image carries Airflow with few providers. requirements.txt is the lock CI tests with;
# here it is only a constraints file: the image gets the wheel's own dependencies at those
# versions, and none of the test tools (pytest, ruff, selenium, hypothesis, faker).
FROM apache/airflow:slim-${AIRFLOW_VERSION}-python${PYTHON_VERSION} AS airflow
ARG AIRFLOW_VERSION

COPY --chown=airflow:0 requirements.txt /requirements.txt
COPY --from=wheel --chown=airflow:0 /tmp/dist/ /tmp/dist/
RUN grep -qx "apache-airflow==${AIRFLOW_VERSION}" /requirements.txt \
    || { echo "requirements.txt does not pin apache-airflow==${AIRFLOW_VERSION}" >&2; exit 1; } \
 && pip install --no-cache-dir -c /requirements.txt \
        "apache-airflow==${AIRFLOW_VERSION}" "$(ls /tmp/dist/ks_privacy-*.whl)[celery]" \
 && rm -rf /tmp/dist \
 && python -c "from ks_privacy.audit_db import migrations; assert migrations('postgresql')" \
 && ! python -c "import pytest" 2>/dev/null

# DAG files and the auditors' UI plugin; include/ holds the deployment's init script.
COPY --chown=airflow:0 dags/ /opt/airflow/dags/
COPY --chown=airflow:0 plugins/ /opt/airflow/plugins/
COPY --chown=airflow:0 include/ /opt/airflow/include/


FROM airflow AS sandbox
# The emulators of ActiveCampaign, Google People and Tawk (see sandbox/README.md), with Faker for
# their seeded data. Their data, the generated Google service-account keyfile and
# connections.json go to /opt/ks-sandbox, a volume the Airflow services mount read-only. Group 0
# may write it: compose runs every container as ${AIRFLOW_UID}:0, as the official image expects.
RUN pip install --no-cache-dir -c /requirements.txt faker
USER root
RUN install -d -o airflow -g 0 -m 2775 /opt/ks-sandbox
USER airflow
COPY --chown=airflow:0 sandbox/ /opt/airflow/sandbox/
WORKDIR /opt/airflow
