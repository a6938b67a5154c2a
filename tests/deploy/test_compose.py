"""docker-compose.yml, .env.example and the Dockerfile describe one coherent CeleryExecutor deployment.

The compose file is read with PyYAML (anchors and `<<` merges resolved) and its `${VAR...}` references are
interpolated from .env.example the way Compose does, so a variable the file requires but .env.example forgets fails
here. `docker compose config` runs too where a Docker engine and the compose plugin are installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

from tests.conftest import ROOT

COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"

AIRFLOW_COMMANDS = {
    "airflow-apiserver": "airflow api-server",
    "airflow-scheduler": "airflow scheduler",
    "airflow-dag-processor": "airflow dag-processor",
    "airflow-worker": "airflow celery worker",
    "airflow-triggerer": "airflow triggerer",
}
AIRFLOW_SERVICES = [*AIRFLOW_COMMANDS, "airflow-init"]
OTHER_SERVICES = ["postgres", "redis", "warehouse", "mailpit"]
_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def interpolate(value, env: dict[str, str]):
    """Compose's variable syntax: $$, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        current = env.get(name)
        unset = current is None or (op is not None and op.startswith(":") and current == "")
        if op in (":?", "?") and unset:
            raise KeyError(f"${{{name}}} is required by docker-compose.yml but not set: {arg}")
        if op in (":-", "-") and unset:
            return interpolate(arg, env)
        return current or ""

    return _VARIABLE.sub(substitute, value)


@pytest.fixture(scope="module")
def compose() -> dict:
    return interpolate(yaml.safe_load(COMPOSE.read_text()), read_env_file(ENV_EXAMPLE))


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def _env(service: dict) -> dict[str, str]:
    return {k: str(v) for k, v in service["environment"].items()}


def test_every_service_of_the_deployment_is_there(services):
    assert set(AIRFLOW_SERVICES + OTHER_SERVICES) <= set(services)


def test_airflow_services_run_the_project_image_with_their_command(services):
    for name, command in AIRFLOW_COMMANDS.items():
        service = services[name]
        assert service["image"] == "storekpi:latest", name
        assert service["build"] == ".", name  # ./Dockerfile
        assert service["command"] == command, name
        assert service["user"] == "50000:0", name  # never root
    init = services["airflow-init"]
    assert init["image"] == "storekpi:latest"
    assert "airflow db migrate" in init["command"][-1]
    assert init["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_executor_broker_and_metadata_database_agree(services):
    postgres = services["postgres"]["environment"]
    expected_db = (postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"], "postgres", postgres["POSTGRES_DB"])
    api_port = services["airflow-apiserver"]["ports"][0].rsplit(":", 1)[1]
    shared = {}
    for name in AIRFLOW_SERVICES:
        env = _env(services[name])
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        metadata = urlparse(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        assert metadata.scheme == "postgresql+psycopg2", name
        assert (metadata.username, metadata.password, metadata.hostname, metadata.path.lstrip("/")) == expected_db
        # Celery's results live in the same metadata database.
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == "db+" + env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], name
        broker = urlparse(env["AIRFLOW__CELERY__BROKER_URL"])
        assert (broker.scheme, broker.hostname, broker.port) == ("redis", "redis", 6379), name
        execution = urlparse(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
        assert (execution.hostname, str(execution.port), execution.path) == ("airflow-apiserver", api_port,
                                                                             "/execution/"), name
        for key in ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY",
                    "STOREKPI_WAREHOUSE", "AIRFLOW_CONN_STOREKPI_WAREHOUSE", "STOREKPI_PII_SALT", "STOREKPI_SCHEDULE",
                    "STOREKPI_SCHEDULE_TZ"):
            shared.setdefault(key, set()).add(env[key])
    assert {key: len(values) for key, values in shared.items()} == dict.fromkeys(shared, 1)


def test_warehouse_is_its_own_postgres(services):
    warehouse = services["warehouse"]
    assert warehouse["image"].startswith("postgres:")
    db = warehouse["environment"]
    env = _env(services["airflow-worker"])
    assert env["STOREKPI_WAREHOUSE"] == "storekpi_warehouse"  # names the connection: no password in it
    url = urlparse(env["AIRFLOW_CONN_STOREKPI_WAREHOUSE"])
    assert url.scheme == "postgresql"
    assert (url.username, url.password, url.hostname, url.port, url.path) == (
        db["POSTGRES_USER"], db["POSTGRES_PASSWORD"], "warehouse", 5432, "/" + db["POSTGRES_DB"])
    assert warehouse["volumes"] != services["postgres"]["volumes"]  # not the metadata database's storage


def test_smtp_connection_points_at_mailpit(services):
    assert services["mailpit"]["image"].startswith("axllent/mailpit:")
    conn = urlparse(_env(services["airflow-worker"])["AIRFLOW_CONN_SMTP_DEFAULT"])
    assert (conn.scheme, conn.hostname, conn.port) == ("smtp", "mailpit", 1025)
    assert set(parse_qs(conn.query)) == {"disable_ssl", "disable_tls"}  # Mailpit speaks plain SMTP


def test_landing_folder_is_a_read_only_volume(services):
    for name in AIRFLOW_SERVICES:
        env = _env(services[name])
        assert env["STOREKPI_LANDING"] == "/data/landing"
        assert "./landing:/data/landing:ro" in services[name]["volumes"], name
        # A run's state is its DAG run in the metadata database: no state folder is shared between services.
        assert not any(volume.endswith(":" + env["STOREKPI_HOME"]) for volume in services[name]["volumes"]), name


def test_no_shared_state_volume(compose):
    assert "storekpi-state" not in compose["volumes"]


def test_api_server_serves_the_storekpi_page_read_only(services):
    """The image loads plugins/ (Dockerfile); the api-server reads the warehouse and reports the worker writes."""
    text = DOCKERFILE.read_text()
    assert "AIRFLOW__CORE__PLUGINS_FOLDER=/opt/airflow/plugins" in text and "COPY plugins/ plugins/" in text
    assert (ROOT / "plugins" / "storekpi_page.py").is_file()
    api, worker = _env(services["airflow-apiserver"]), _env(services["airflow-worker"])
    for key in ("STOREKPI_WAREHOUSE", "AIRFLOW_CONN_STOREKPI_WAREHOUSE", "STOREKPI_REPORTS"):
        assert api[key] == worker[key], key
    reports = f"./reports:{worker['STOREKPI_REPORTS']}"
    assert f"{reports}:ro" in services["airflow-apiserver"]["volumes"]
    assert reports in services["airflow-worker"]["volumes"]  # the worker writes them
    assert services["airflow-apiserver"]["ports"] == ["8080:8080"]


def test_long_running_services_have_healthchecks_and_wait_for_their_dependencies(services):
    for name in [*AIRFLOW_COMMANDS, *OTHER_SERVICES]:
        assert services[name]["healthcheck"]["test"], name
    for name in AIRFLOW_COMMANDS:
        depends = services[name]["depends_on"]
        for dependency in ("postgres", "redis", "warehouse"):
            assert depends[dependency] == {"condition": "service_healthy"}, (name, dependency)
        assert depends["airflow-init"] == {"condition": "service_completed_successfully"}, name
    assert services["airflow-worker"]["depends_on"]["airflow-apiserver"] == {"condition": "service_healthy"}


def test_schedule_comes_from_the_environment(services):
    env = _env(services["airflow-scheduler"])
    assert env["STOREKPI_SCHEDULE"] == "0 3 * * *"
    assert env["STOREKPI_SCHEDULE_TZ"] == "America/Toronto"


def test_missing_secret_fails_interpolation():
    env = read_env_file(ENV_EXAMPLE)
    del env["WAREHOUSE_PASSWORD"]
    with pytest.raises(KeyError, match="WAREHOUSE_PASSWORD"):
        interpolate(yaml.safe_load(COMPOSE.read_text()), env)


def test_dockerfile_builds_one_pinned_non_root_image():
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim\s*$", text, re.M)
    assert 'pip install -c constraints.txt ".[celery]"' in text
    for folder in ("include/", "dags/", "plugins/", "dbt/"):
        assert re.search(rf"^COPY {folder} {folder}$", text, re.M), folder
    assert "dbt parse --project-dir dbt" in text and "test -s dbt/target/manifest.json" in text
    assert "AIRFLOW_HOME=/opt/airflow" in text
    assert re.search(r"^USER \$\{AIRFLOW_UID\}$", text, re.M)
    assert "ARG AIRFLOW_UID=50000" in text


def _docker_engine_missing() -> str | None:
    if not shutil.which("docker"):
        return "the docker CLI is not installed"
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30)
    if info.returncode:
        return f"no Docker engine reachable (`docker info` failed: {info.stderr.strip()[-200:]})"
    plugin = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=30)
    if plugin.returncode:
        return "the docker compose plugin is not installed"
    return None


def test_docker_compose_config_accepts_the_file():
    reason = _docker_engine_missing()
    if reason:
        pytest.skip(reason)
    proc = subprocess.run(["docker", "compose", "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE), "config",
                           "--quiet"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
