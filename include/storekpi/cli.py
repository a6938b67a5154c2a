"""`storekpi` command line: run, generate, demo, forget, customers (spec README, "Command line").

The last line on stdout of `run` and `demo` is the run's JSON summary; exit codes: 0 published, 3 blocked by a
quality gate, 2 usage or configuration error (the message names the option or file), 1 any other failure.
"""

from __future__ import annotations

import argparse
import atexit
import json
import logging
import os
import re
import sys
import threading
import traceback
import uuid
from datetime import datetime, timezone
from pathlib import Path

from storekpi.errors import BusyError, ConfigError, StorekpiError

log = logging.getLogger("storekpi")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 too; keep the spec's wording
        self.print_usage(sys.stderr)
        raise ConfigError(message)


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {number}")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="storekpi", description="Nightly KPI warehouse for online shops.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run the nightly DAG for one date through Airflow")
    run.add_argument("--landing", required=True, help="landing folder (stores drop their exports here)")
    run.add_argument("--warehouse", required=True, help="DuckDB file path or postgresql:// URL")
    run.add_argument("--date", required=True, help="the business day to run, YYYY-MM-DD")
    run.add_argument("--stores", help="store configuration (default: <landing>/stores.yml)")
    run.add_argument("--outbox", help="write e-mails as .eml files here instead of sending them")
    run.add_argument("--reports", help="report folder (default: reports/ beside the warehouse file)")
    run.add_argument("--verbose", action="store_true", help="stream Airflow's and storekpi's full logs to stderr")

    gen = sub.add_parser("generate", help="write a realistic demo landing folder")
    gen.add_argument("--out", required=True, help="landing folder to write")
    gen.add_argument("--stores", type=_positive, default=3, help="number of stores (default 3)")
    gen.add_argument("--days", type=_positive, default=60, help="days of history (default 60)")
    gen.add_argument("--seed", type=int, default=7, help="random seed; same seed, same files (default 7)")
    gen.add_argument("--end-date", help="last business day of the data (default 2026-11-20)")
    gen.add_argument("--orders-per-day", type=_positive, help="scale the order volume (default: a small shop)")
    real = gen.add_argument_group("real-export cases (sources.md 'Real exports'; off by default)")
    real.add_argument("--vat-store", action="store_true",
                      help="add a UK Shopify store whose prices and shipping include 20%% VAT (uk_shopify)")
    real.add_argument("--cod-store", action="store_true",
                      help="add an Indian Shopify store paid cash on delivery, cash_on_delivery: true (in_shopify)")
    real.add_argument("--tips", action="store_true", help="tip lines ('Tip', no SKU) on some Shopify orders")
    real.add_argument("--free-shipping-codes", action="store_true",
                      help="FREESHIP codes on some Shopify orders: the waived shipping sits in Discount Amount")

    demo = sub.add_parser("demo", help="generate a demo landing folder and run the nightly pipeline on it")
    demo.add_argument("--dir", default="demo", help="where the demo lives (default ./demo)")
    demo.add_argument("--verbose", action="store_true", help="stream Airflow's and storekpi's full logs to stderr")

    forget = sub.add_parser("forget", help="remove one landing file's rows from raw; rebuilt on the next run")
    forget.add_argument("path", help="the file, as a path inside the landing folder or relative to it")
    forget.add_argument("--warehouse", default=os.environ.get("STOREKPI_WAREHOUSE"),
                        help="DuckDB file path or postgresql:// URL (default $STOREKPI_WAREHOUSE)")
    forget.add_argument("--landing", default=os.environ.get("STOREKPI_LANDING"),
                        help="landing folder, to resolve PATH (default $STOREKPI_LANDING)")

    status = sub.add_parser("status", help="the last runs, each store's freshness, quarantine and blocking reasons")
    status.add_argument("--warehouse", default=os.environ.get("STOREKPI_WAREHOUSE"),
                        help="DuckDB file path or postgresql:// URL (default $STOREKPI_WAREHOUSE)")
    status.add_argument("--json", action="store_true", help="print one JSON object instead of text")

    customers = sub.add_parser("customers", help="list the shop's own identifiers of the customers in a segment")
    customers.add_argument("--warehouse", default=os.environ.get("STOREKPI_WAREHOUSE"),
                           help="DuckDB file path or postgresql:// URL (default $STOREKPI_WAREHOUSE)")
    customers.add_argument("--segment", required=True, help="segment name(s), comma-separated (customers.md)")
    customers.add_argument("--match", required=True, nargs="+", metavar="FILE",
                           help="the shop's own order exports to take identifiers from")
    customers.add_argument("--store", help="only this store (default: every store on the exports' platform)")
    customers.add_argument("--out", help="CSV file to write (default: stdout)")
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=os.environ.get("STOREKPI_LOG_LEVEL", "INFO"), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = None
    try:
        args = build_parser().parse_args(argv)
        return {"run": cmd_run, "generate": cmd_generate, "demo": cmd_demo, "forget": cmd_forget,
                "status": cmd_status, "customers": cmd_customers}[args.command](args)
    except StorekpiError as exc:
        print(f"storekpi: error: {exc}", file=sys.stderr)
        if args is not None and args.command in ("run", "demo"):  # stdout still ends with the run's JSON line
            print(json.dumps({"status": "failed", "date": getattr(args, "date", None), "message": str(exc)},
                             ensure_ascii=False))
        return exc.exit_code


def entry() -> None:
    """The `storekpi` program: `main()`, then `exit_now` with its exit code."""
    exit_now(main())


def exit_now(code: int) -> None:
    """End the process as the interpreter would, up to its teardown: wait for non-daemon threads, run the atexit
    handlers (log handlers flush and close, Airflow disposes its engine), flush stdout and stderr, then `os._exit`,
    skipping the teardown of every module and object the run loaded (after a run with Airflow, dbt and Great
    Expectations: about 950,000 objects, 5-6 s). Files and databases are closed by then; Airflow's task supervisor
    ends its forked children the same way."""
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed or broken pipe: nothing more can be written anyway
            pass
    os._exit(code)


def execute(*, landing: str, warehouse: str, date: str, stores: str | None = None, outbox: str | None = None,
            reports: str | None = None, verbose: bool = False) -> tuple[int, dict]:
    """Validate, run the DAG through Airflow, and return (exit code, JSON summary)."""
    from storekpi.runspec import RunSpec, public_summary
    from storekpi.warehouse import as_connection

    run_key = f"{date}_{datetime.now(timezone.utc):%Y%m%dT%H%M%S}_{uuid.uuid4().hex[:6]}"
    url, warehouse = warehouse, as_connection(warehouse)  # a postgresql:// URL becomes this run's connection
    if url != warehouse:  # libraries record the command line (dbt's run_results.json): it must not hold the password
        sys.argv = [arg.replace(url, warehouse) for arg in sys.argv]
    spec = RunSpec.resolve(landing=landing, warehouse=warehouse, date=date, stores=stores, outbox=outbox,
                           reports=reports, run_key=run_key)
    from storekpi import config, landing as landing_mod

    landing_mod.discover(spec.landing, config.load(spec.stores), spec.date)  # fail fast with exit 2

    from storekpi import airflow_runner, pipeline
    from storekpi.console import RunConsole, log_path
    from storekpi.warehouse import exclusive

    run_log = log_path(run_key)
    try:
        with exclusive(spec.target):
            try:
                with RunConsole(run_key, verbose=verbose) as console:  # Airflow's output to the run's log
                    outcome = airflow_runner.run_dag(spec, make_listener=console.airflow_listener)
                ended = f"the DAG run ended {outcome.state} before the pipeline finished; see {run_log}"
            except Exception as exc:  # noqa: BLE001 - Airflow itself failed; the summary must still be printed
                run_log.parent.mkdir(parents=True, exist_ok=True)
                with open(run_log, "a", encoding="utf-8") as handle:  # the traceback goes to the log, not the console
                    handle.write(f"run failed:\n{traceback.format_exc()}")
                outcome, ended = _outcome_after(spec, exc), f"{type(exc).__name__}: {exc}"
                outcome = airflow_runner.RunOutcome("failed", outcome.summary, outcome.results, outcome.errors)
            state, summary = outcome.state, outcome.summary
            if summary is None:  # finish did not decide (Airflow failed, finish failed): decide the same way here
                summary = pipeline.finish(spec, outcome.results, outcome.errors, ended=ended)
    except BusyError as exc:  # nothing was touched: another run holds the warehouse
        log.error("%s", exc)
        state = "failed"
        summary = {**pipeline.facts(spec, {}), "status": "failed", "message": str(exc)}
    result = public_summary(summary)
    code = {"published": 0, "blocked": 3}.get(result["status"], 1)
    if code == 0 and state != "success":
        code = 1
    if result["status"] != "published":  # one clear message on the console; the details are in the log
        print(f"storekpi: run for {spec.date} {result['status']}: {result.get('message') or 'see the log'} "
              f"(log: {run_log})", file=sys.stderr)
    return code, result


def _outcome_after(spec, exc: BaseException):
    """What Airflow's metadata knows of a run during which Airflow itself raised (nothing, if it cannot say)."""
    from storekpi import airflow_runner

    try:
        return airflow_runner.read_run(spec)
    except Exception:  # noqa: BLE001 - the metadata database may be what failed
        log.warning("could not read the DAG run after %s", type(exc).__name__)
        return airflow_runner.RunOutcome("failed", None, {}, {})


def cmd_run(args: argparse.Namespace) -> int:
    code, result = execute(landing=args.landing, warehouse=args.warehouse, date=args.date, stores=args.stores,
                           outbox=args.outbox, reports=args.reports, verbose=args.verbose)
    print(json.dumps(result, ensure_ascii=False))
    return code


def cmd_generate(args: argparse.Namespace) -> int:
    from storekpi import generate
    from storekpi.runspec import parse_date

    end = parse_date(args.end_date, "--end-date") if args.end_date else generate.DEFAULT_END_DATE
    summary = generate.generate(Path(args.out), stores=args.stores, days=args.days, seed=args.seed, end_date=end,
                                orders_per_day=args.orders_per_day, vat_store=args.vat_store,
                                cod_store=args.cod_store, tips=args.tips, free_shipping_codes=args.free_shipping_codes)
    print(json.dumps(summary, ensure_ascii=False, default=str))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from storekpi import generate

    root = Path(args.dir).resolve()
    landing = root / "landing"
    if not (landing / "stores.yml").exists():
        log.info("generating a demo landing folder in %s", landing)
        generate.generate(landing)
    os.environ.setdefault("STOREKPI_HOME", str(root / ".storekpi"))
    day = generate.DEFAULT_END_DATE.isoformat()
    warehouse = root / "warehouse.duckdb"
    code, result = execute(landing=str(landing), warehouse=str(warehouse), date=day, outbox=str(root / "outbox"),
                           reports=str(root / "reports"), verbose=args.verbose)
    print(_demo_text(result, root))
    print(json.dumps(result, ensure_ascii=False))
    return code


def _demo_text(result: dict, root: Path) -> str:
    lines = [
        "",
        f"storekpi demo — run for {result['date']}: {result['status']}",
        f"  landing folder : {root / 'landing'}",
        f"  warehouse      : {result['warehouse']}",
        f"  report         : {result.get('report')}",
        f"  e-mails        : {root / 'outbox'}",
        f"  files {result['files_loaded']}, rows loaded {result['rows_loaded']}, "
        f"quarantined {result['rows_quarantined']}, alerts {result['alerts']}",
    ]
    if result["status"] == "published":
        lines += ["", _kpi_table(Path(result["warehouse"]), result["date"])]
    elif result.get("message"):
        lines.append(f"  reason: {result['message']}")
    return "\n".join(lines)


def _kpi_table(path: Path, day: str) -> str:
    """The last day's headline KPIs per store, as a plain-text table."""
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "select store_id, visitors, orders, net_sales, conversion_rate, aov, positive_review_rate_30d "
            "from marts.kpi_store_daily where date = ? order by store_id", [day]).fetchall()
    header = ("store", "visitors", "orders", "net_sales", "conversion", "aov", "pos. reviews 30d")
    table = [header] + [
        (r[0], _fmt(r[1]), _fmt(r[2]), _fmt(r[3], "{:,.2f}"), _fmt(r[4], "{:.2%}"), _fmt(r[5], "{:,.2f}"),
         _fmt(r[6], "{:.1%}"))
        for r in rows
    ]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    return "\n".join("  " + "  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                                      for i, (c, w) in enumerate(zip(row, widths))) for row in table)


def _fmt(value, pattern: str = "{:,}") -> str:
    return "–" if value is None else pattern.format(value)


def cmd_forget(args: argparse.Namespace) -> int:
    from storekpi import ingest, warehouse

    if not args.warehouse:
        raise ConfigError("--warehouse is required (or set STOREKPI_WAREHOUSE)")
    target = warehouse.Target(args.warehouse)
    target.validate()
    relpath = _landing_relpath(args.path, args.landing)
    if not warehouse.exists(target):
        raise ConfigError(f"--warehouse {target.path} does not exist: nothing to forget")
    with warehouse.open_published(target) as wh:
        known = wh.table_exists("audit", "files") and wh.query("select 1 from audit.files where path = ?",
                                                                [relpath])
    if not known:
        raise ConfigError(f"PATH {args.path}: no file {relpath!r} was ever loaded into {args.warehouse} "
                          "(files are known by <store>/<dataset>/<date>/<name> inside the landing folder)")
    with warehouse.exclusive(target):
        with warehouse.open_build(target, fresh=True) as wh:
            wh.ensure_schema()
            removed = ingest.forget(wh, relpath)
        warehouse.publish_in_place_change(target)
    print(json.dumps({"forgotten": relpath, "rows_removed": removed}, ensure_ascii=False))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from storekpi import status, warehouse

    if not args.warehouse:
        raise ConfigError("--warehouse is required (or set STOREKPI_WAREHOUSE)")
    target = warehouse.Target(args.warehouse)
    target.validate()
    result = status.collect(target)
    print(json.dumps(result, ensure_ascii=False) if args.json else status.render_text(result))
    return 0


def _landing_relpath(path: str, landing: str | None) -> str:
    """Files are known by their path relative to the landing folder: `<store>/<dataset>/<YYYY-MM-DD>/<name>`.

    With --landing, PATH is made relative to it; without, a longer path that ends in that layout is cut to it,
    so `storekpi forget /srv/landing/shop/orders/2026-11-20/x.csv` needs no --landing.
    """
    candidate = Path(path)
    if landing and candidate.is_absolute():
        try:
            return candidate.resolve().relative_to(Path(landing).resolve()).as_posix()
        except ValueError:
            raise ConfigError(f"PATH {path} is not inside --landing {landing}") from None
    parts = candidate.parts
    if len(parts) > 4 and re.fullmatch(r"\d{4}-\d{2}-\d{2}", parts[-2]):
        return "/".join(parts[-4:])
    return candidate.as_posix()


def cmd_customers(args: argparse.Namespace) -> int:
    from storekpi import customers

    if not args.warehouse:
        raise ConfigError("--warehouse is required (or set STOREKPI_WAREHOUSE)")
    matched = customers.find(args.warehouse, args.segment, args.match, store=args.store, out=args.out)
    if args.out:  # with the CSV on stdout, nothing else may be printed there
        print(json.dumps({"customers": matched, "out": args.out}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    entry()
