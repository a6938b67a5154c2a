# storekpi: one image for every Airflow service of the production deployment (docker-compose.yml) and for the
# `storekpi` command line. The project and its pinned dependencies (constraints.txt) are installed at build time,
# never at container start, and the dbt project is parsed here so a broken model fails the build, not the night.
#
#   docker build -t storekpi:latest .
#   docker run --rm storekpi:latest storekpi --help
FROM python:3.11-slim

ARG AIRFLOW_UID=50000
ENV AIRFLOW_HOME=/opt/airflow \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GX_ANALYTICS_ENABLED=false \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false

# Airflow's processes fork and reap children; tini forwards signals so `docker stop` is a clean shutdown.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid "${AIRFLOW_UID}" --gid 0 --home-dir "${AIRFLOW_HOME}" --no-create-home airflow

WORKDIR /opt/airflow

# Dependencies first (a layer that changes only with pyproject.toml or constraints.txt): install the project's
# dependencies from a stub package, then the real package without touching them again.
COPY pyproject.toml constraints.txt README.md ./
RUN mkdir -p include/storekpi && touch include/storekpi/__init__.py \
    && pip install -c constraints.txt ".[celery]" \
    && rm -rf include build *.egg-info

COPY include/ include/
RUN pip install --no-deps --force-reinstall -c constraints.txt ".[celery]" \
    && rm -rf build *.egg-info \
    && python -c "import asyncpg, importlib.resources as r; \
from airflow.providers.celery.executors import celery_executor_utils; \
assert r.files('storekpi').joinpath('templates/report.css').is_file(), 'package data missing from the wheel'"

COPY dags/ dags/
COPY plugins/ plugins/
COPY dbt/ dbt/

# Compile the dbt project into dbt/target (manifest.json ships in the image). Parsing needs a profile but no
# database: a throw-away Postgres profile of the same shape storekpi.dbt_runner writes at run time.
RUN mkdir -p /tmp/dbt-profiles \
    && printf 'storekpi:\n  target: postgres\n  outputs:\n    postgres: {type: postgres, host: localhost, port: 5432, user: parse, password: "", dbname: parse, schema: marts, threads: 1}\n' \
       > /tmp/dbt-profiles/profiles.yml \
    && dbt parse --project-dir dbt --profiles-dir /tmp/dbt-profiles --target-path target \
       --log-path /tmp/dbt-logs --vars '{"run_date": "2000-01-01"}' \
    && test -s dbt/target/manifest.json \
    && rm -rf /tmp/dbt-profiles /tmp/dbt-logs

# Folders the services write to (Airflow writes airflow.cfg into AIRFLOW_HOME on first start); named volumes
# mounted over them start with these owners and modes. Group 0 may write, so any AIRFLOW_UID works.
RUN mkdir -p logs config /data/landing /data/reports /data/state \
    && chown "${AIRFLOW_UID}:0" /opt/airflow \
    && chown -R "${AIRFLOW_UID}:0" /opt/airflow/logs /opt/airflow/config /data \
    && chmod g+rwX /opt/airflow \
    && chmod -R g+rwX /opt/airflow/logs /opt/airflow/config /data

ENV STOREKPI_DBT_PROJECT=/opt/airflow/dbt \
    STOREKPI_DAGS_FOLDER=/opt/airflow/dags \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/airflow/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/airflow/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    STOREKPI_LANDING=/data/landing \
    STOREKPI_REPORTS=/data/reports \
    STOREKPI_HOME=/data/state

USER ${AIRFLOW_UID}
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["airflow", "version"]
