"""The scheduling decision (docs/operations.md, "Scheduling"): one run per night, after every store's day D closed.

With the deployment's settings (.env.example: cron `0 3 * * *` in America/Toronto, the fixture's westernmost store),
the DAG's own timetable and date logic are evaluated in a subprocess with a private AIRFLOW_HOME. Worked by hand:
- winter (EST, UTC-5): the run after 2026-11-20 03:00 Toronto fires 2026-11-21 03:00 Toronto = 08:00 UTC and builds
  D = 2026-11-20. maple_shop's 11-20 ended at 05:00 UTC, tea_house's (UTC+8) at 2026-11-20 16:00 UTC: both before.
- summer (EDT, UTC-4): the cron follows DST: 2026-07-15 03:00 Toronto = 07:00 UTC builds D = 2026-07-14;
  Toronto's day ended 04:00 UTC.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from tests.conftest import FIXTURES, ROOT
from tests.deploy.test_compose import ENV_EXAMPLE, read_env_file

PROBE = """
import json, sys
import pendulum
from storekpi.airflow_runner import configure_environment
configure_environment()
from airflow.dag_processing.dagbag import DagBag
from airflow.serialization.decoders import decode_timetable
from airflow.serialization.encoders import encode_timetable
from airflow.timetables.base import DataInterval, TimeRestriction

dag_file, landing, warehouse, previous = sys.argv[1:5]
bag = DagBag(dag_folder=dag_file)
assert not bag.import_errors, bag.import_errors
dag = bag.dags["storekpi_nightly"]
timetable = decode_timetable(encode_timetable(dag.timetable))  # the scheduler-side timetable
module = next(m for m in list(sys.modules.values()) if getattr(m, "__file__", None) == dag_file)
before = pendulum.parse(previous)
info = timetable.next_dagrun_info(last_automated_data_interval=DataInterval(before, before),
                                      restriction=TimeRestriction(earliest=None, latest=None, catchup=True))
params = {"landing": landing, "warehouse": warehouse, "date": None, "stores": None, "outbox": None,
          "reports": None, "run_key": None}
spec = module._spec({"params": params, "logical_date": info.logical_date, "run_id": "scheduled__probe"})
print(json.dumps({"run_after": info.run_after.in_timezone("UTC").isoformat(), "date": spec.date.isoformat()}))
"""


def _next_scheduled_run(previous: str, tmp_path) -> dict:
    settings = read_env_file(ENV_EXAMPLE)
    env = {**os.environ, "STOREKPI_HOME": str(tmp_path / "state"),
           "STOREKPI_SCHEDULE": settings["STOREKPI_SCHEDULE"],
           "STOREKPI_SCHEDULE_TZ": settings["STOREKPI_SCHEDULE_TZ"]}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT / "dags" / "storekpi_nightly.py"), str(FIXTURES / "e2e_landing"),
         str(tmp_path / "warehouse.duckdb"), previous],
        capture_output=True, text=True, env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("previous", "run_after", "day", "closes"), [
    ("2026-11-20T03:00:00-05:00", "2026-11-21T08:00:00+00:00", "2026-11-20",
     {"America/Toronto": "2026-11-21T05:00:00+00:00", "Asia/Shanghai": "2026-11-20T16:00:00+00:00"}),
    ("2026-07-14T03:00:00-04:00", "2026-07-15T07:00:00+00:00", "2026-07-14",
     {"America/Toronto": "2026-07-15T04:00:00+00:00", "Asia/Shanghai": "2026-07-14T16:00:00+00:00"}),
])
def test_nightly_run_starts_after_every_store_closed_day_d(previous, run_after, day, closes, tmp_path):
    probe = _next_scheduled_run(previous, tmp_path)
    assert probe == {"run_after": run_after, "date": day}
    started = datetime.fromisoformat(probe["run_after"])
    for store_tz, midnight in closes.items():
        assert datetime.fromisoformat(midnight).astimezone(timezone.utc) <= started, store_tz
