"""The scale scenario's fast generator writes a landing folder ingest loads whole: every generated row is loaded
(none quarantined), in the landing layout, with the order shapes the scenario claims (multi-line, unpaid,
cancelled, refunded, guests, repeat customers)."""

from __future__ import annotations

import csv
from datetime import date

import duckdb
import pytest

from bench import scale_landing
from bench.steps import run_steps

END = date(2026, 11, 20)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("scale-landing")
    return scale_landing.landing(root / "gen", scale_landing.Scenario(lines=3_000, days=6, end=END, seed=7))


def _csv_rows(landing, dataset):
    rows = []
    for path in sorted((landing / scale_landing.STORE / dataset).glob("*/*.csv")):
        with path.open(encoding="utf-8", newline="") as fh:
            rows += [{**r, "_folder": path.parent.name} for r in csv.DictReader(fh)]
    return rows


def test_one_file_per_dataset_and_day(generated):
    landing, made = generated
    for dataset in ("orders", "reviews", "stock", "traffic", "traffic_sources", "ad_spend"):
        folders = sorted((landing / scale_landing.STORE / dataset).iterdir())
        expected = 5 if dataset == "reviews" else 7  # six days up to D and D+1; reviews start two days in
        assert len(folders) == expected, dataset
        assert all(len(list(f.iterdir())) == 1 for f in folders), dataset
    assert made["files"] == 7 * 5 + 5 + 1  # + reviews + one catalogue
    assert made["rows"]["orders"] == len(_csv_rows(landing, "orders"))


def test_orders_have_the_claimed_shapes(generated):
    landing, _ = generated
    rows = _csv_rows(landing, "orders")
    orders: dict[str, list[dict]] = {}
    for row in rows:
        orders.setdefault(row["order_id"], []).append(row)
    assert 2_800 <= len(rows) <= 3_700  # about the lines asked for (plus D+1's)
    assert any(len(lines) > 1 for lines in orders.values())
    firsts = [lines[0] for lines in orders.values()]
    assert all(r["shipping"] == "" for lines in orders.values() for r in lines[1:])  # order-level: first line only
    assert any(r["paid_at"] == "" for r in firsts)  # unpaid
    assert any(r["paid_at"] and r["cancelled_at"] for r in firsts)  # cancelled after payment
    assert any(float(r["refunded_amount"] or 0) > 0 for r in firsts)
    assert any(r["customer_id"] == "" for r in firsts)  # guests
    customers = [r["customer_id"] for r in firsts if r["customer_id"]]
    assert len(set(customers)) < len(customers)  # repeat customers
    assert all(r["created_at"].startswith(r["_folder"]) for r in rows)  # a day's file holds that day's orders


def test_ingest_loads_every_row(generated, tmp_path, monkeypatch):
    landing, made = generated
    monkeypatch.setenv("STOREKPI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("STOREKPI_PII_SALT", "test-salt")
    warehouse = tmp_path / "warehouse.duckdb"
    result = run_steps(landing, warehouse, "2026-11-21", tmp_path / "run", steps=("discover", "ingest"))
    assert result["files_loaded"] == made["files"]
    from storekpi.warehouse import Target

    with duckdb.connect(str(Target(str(warehouse)).build_path), read_only=True) as con:
        assert con.execute("select count(*) from raw.order_lines").fetchone()[0] == made["rows"]["orders"]
        quarantined = con.execute("select count(*) from quarantine.rows").fetchone()[0]
    assert quarantined == 0
    assert result["rows_loaded"] == sum(made["rows"].values())
