"""RunConsole without Airflow: what reaches the person and what reaches the log file (stdout not a terminal)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

from storekpi import console


def test_step_lines_and_warnings_reach_the_person_everything_else_the_log(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("STOREKPI_HOME", str(tmp_path))
    # Airflow, imported in-process by earlier tests, leaves root handlers on streams pytest has since closed
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    with console.RunConsole("run_1") as shown:
        shown.step_started("discover")
        shown.step_ended("discover", "done", {"stores": 1, "files": 2})
        shown.step_started("ingest")
        for name in ("a.csv", "b.csv"):
            logging.getLogger("storekpi.ingest").info("file %s loaded", name, extra={"landing_file": name})
        assert shown.steps["ingest"].files_done == 2 and shown.steps["ingest"].files_total == 2
        os.write(1, b"fd 1 noise\n")  # what Airflow's and dbt's loggers write ends up as (pytest's own
        os.write(2, b"fd 2 noise\n")  # capture replaces sys.stdout, so print() would not say it)
        subprocess.run([sys.executable, "-c", "print('child noise')"], check=True)
        logging.getLogger("storekpi.pipeline").warning("store=x: its day has not closed yet")
        logging.getLogger("storekpi.pipeline").warning("store=x: its day has not closed yet")  # shown once
        shown.step_ended("ingest", "done", {"files_loaded": 2, "rows_loaded": 1234, "rows_quarantined": 1,
                                            "files_rejected": 0})
        shown.step_started("quality_gate")
        shown.step_ended("quality_gate", "blocked", error="blocked by 1 failed checks")
        shown.step_started("report")  # never ends: the run stopped under it
    out, err = capfd.readouterr()
    lines = out.splitlines()
    assert lines[0] == f"storekpi: full log of this run: {tmp_path / 'logs' / 'run_1.log'}"
    assert lines[1].split() == ["discover", "done", lines[1].split()[2], "1", "store,", "2", "files"]
    assert lines[2] == "  ! store=x: its day has not closed yet"
    assert lines[3].split()[:2] == ["ingest", "done"]
    assert lines[3].endswith("  2 files, 1,234 rows, 1 quarantined")
    assert lines[4].split()[:2] == ["quality_gate", "blocked"] and lines[4].endswith("blocked by 1 failed checks")
    assert lines[5].split()[:2] == ["report", "stopped"]
    assert len(lines) == 6 and "\x1b" not in out and err == ""
    log = (tmp_path / "logs" / "run_1.log").read_text()
    for noise in ("fd 1 noise", "fd 2 noise", "child noise"):
        assert noise in log
    os.write(1, b"after\n")  # the descriptors are the test's again
    assert capfd.readouterr().out == "after\n"


def test_verbose_streams_the_log_to_stderr_too(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("STOREKPI_HOME", str(tmp_path))
    with console.RunConsole("run_2", verbose=True):
        os.write(1, b"airflow says hello\n")
    out, err = capfd.readouterr()
    assert "airflow says hello" in err and "airflow says hello" not in out
    assert "airflow says hello" in (tmp_path / "logs" / "run_2.log").read_text()


def test_counts_read_as_a_phrase():
    assert console.describe({"checks": 21, "warnings": 1, "report": "/x/report.html"}) == "21 checks, 1 warning"
    assert console.describe({"emails": 1, "alerts": 0}) == "1 e-mail, 0 alerts"
    assert console.describe(None) == ""
