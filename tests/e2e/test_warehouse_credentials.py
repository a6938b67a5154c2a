"""The PostgreSQL password lives only in the Airflow connection: `storekpi run --warehouse postgresql://…` works,
and the password appears nowhere it would be kept or shown — not in the serialised DAG (even with the URL in
$STOREKPI_WAREHOUSE), the DAG run's conf or anything else in Airflow's metadata database, the dbt target folder,
the logs, the console, or audit.*."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import FIXTURES, ROOT, run_cli

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
PASSWORD = "Pw-n0t-in-any-file-7341"  # the server trusts local connections: any password logs in

SERIALISE = """
import json, sys
from storekpi.airflow_runner import configure_environment
configure_environment()
from airflow.dag_processing.dagbag import DagBag
from airflow.serialization.serialized_objects import DagSerialization
bag = DagBag(dag_folder=sys.argv[1])
assert not bag.import_errors, bag.import_errors
print(json.dumps(DagSerialization.to_dict(bag.dags["storekpi_nightly"]), default=str))
"""


def test_the_serialised_dag_holds_no_password_even_with_the_url_in_the_environment(tmp_path):
    env = {**os.environ, "STOREKPI_HOME": str(tmp_path / "state"),
           "STOREKPI_WAREHOUSE": f"postgresql://storekpi:{PASSWORD}@db.example:5432/kpi"}
    proc = subprocess.run([sys.executable, "-c", SERIALISE, str(ROOT / "dags" / "storekpi_nightly.py")],
                          capture_output=True, text=True, env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    serialised = proc.stdout.strip().splitlines()[-1]
    assert "storekpi_nightly" in serialised and '"warehouse"' in serialised
    assert "db.example" not in serialised and PASSWORD not in serialised


def test_a_postgres_run_keeps_the_password_out_of_every_file_log_and_audit_row(tmp_path):
    import psycopg2

    from tests.pg import temp_database

    landing = tmp_path / "landing"
    shutil.copytree(FIXTURES / "e2e_landing", landing)
    state = tmp_path / "state"
    state.mkdir()
    with temp_database("storekpi_secret") as url:
        with_password = url.replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@")
        assert PASSWORD in with_password
        result = run_cli("run", "--landing", str(landing), "--warehouse", with_password, "--date", "2026-11-20",
                         "--outbox", str(tmp_path / "outbox"), "--reports", str(tmp_path / "reports"), home=state)
        assert result.code == 0, result.stderr[-3000:]
        assert result.summary["status"] == "published"
        assert PASSWORD not in result.stdout + result.stderr
        dbt_targets = list(state.rglob("target"))
        assert dbt_targets and any(p.is_file() for t in dbt_targets for p in t.rglob("*"))  # dbt did write there
        files = [p for p in tmp_path.rglob("*") if p.is_file()]
        assert any(p.name == "airflow.db" for p in files) and any(p.suffix == ".log" for p in files)
        for path in files:
            assert PASSWORD.encode() not in path.read_bytes(), path
        with psycopg2.connect(url) as pg, pg.cursor() as cur:
            cur.execute("select table_name from information_schema.tables where table_schema = 'audit'")
            tables = [r[0] for r in cur.fetchall()]
            assert "runs" in tables
            for table in tables:
                cur.execute(f"select * from audit.{table}")
                assert PASSWORD not in repr(cur.fetchall()), table
