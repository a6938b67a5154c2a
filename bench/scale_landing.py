"""A fast landing folder for the 10 M-line scenario: one big store, three years, every dataset, daily files.

`storekpi generate` simulates every order in numpy and renders it in Python (~250 µs an order: half an hour for
ten million lines). This writes the same landing layout (`<store>/<dataset>/<YYYY-MM-DD>/<file>`, one file per
dataset and day, as an ERP's nightly export job leaves them) from DuckDB SQL: rows come from hashes of their ids
(deterministic per seed, no per-row Python), and `COPY ... (PARTITION_BY ...)` writes all days of a dataset at
once; the partition folders are then renamed into the landing layout.

The export layout is the generic ERP one (adapters/generic.py: UTF-8 CSV with snake_case columns, a Parquet
catalogue), because DuckDB writes UTF-8 only and the Taobao seller centre's exports are GB18030. The store is a
Tmall-sized flagship (CNY, Asia/Shanghai): multi-line orders with order-level amounts on the first line, unpaid,
cancelled and refunded orders, repeat customers (a skewed customer pool) and guests, promo-day peaks, weekday
pattern and growth; traffic re-exported over a 3-day window (the newest day still settling), traffic sources, ad
spend, daily stock and reviews. No weekly re-exports and no bad cells: the scenario measures volume.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

from bench import fixtures

STORE = "flagship"
LINES_PER_ORDER = (0.62, 0.24, 0.09, 0.05)  # share of orders with 1, 2, 3, 4 lines
SKUS = 300
PROMO_DAYS = ("06-18", "11-11", "12-12")  # the store's big days (stores.yml defaults list the same)
NIGHTLY = "03:17:00"  # the export job runs at 03:17 the next morning, so no timestamp lies in the file's future
CONVERSION = 0.03  # paid orders / visitors
MAX_LINE = 4
_WEEKDAY = "[0.95, 0.93, 0.94, 0.97, 1.04, 1.15, 1.18]"  # Monday..Sunday


@dataclass(frozen=True)
class Scenario:
    lines: int  # order lines over all days (about: days draw whole orders)
    days: int  # history up to and including `end`
    end: date  # D: the e2e run's date; the landing also holds D+1 (the night on top)
    seed: int


def landing(root: Path, scenario: Scenario) -> tuple[Path, dict]:
    """root/landing for `scenario` (days up to D+1), generated once and reused while its parameters and this
    module are unchanged; returns (folder, {"files": n, "rows": {dataset: n}, "seconds": s})."""
    key = fixtures.code_digest("bench/scale_landing.py", extra=["scale", asdict(scenario)])
    out, marker = root / "landing", root / f".landing-{key}.json"
    if marker.exists():
        return out, json.loads(marker.read_text())
    shutil.rmtree(root, ignore_errors=True)
    out.mkdir(parents=True)
    import time

    started = time.perf_counter()
    rows = write(out, scenario)
    summary = {"files": sum(1 for p in out.rglob("*") if p.is_file()) - 1,  # stores.yml is not an export
               "rows": rows, "seconds": round(time.perf_counter() - started, 1)}
    marker.write_text(json.dumps(summary))
    return out, summary


def write(out: Path, s: Scenario) -> dict[str, int]:
    """Write stores.yml and every export for days end-days+1 .. end+1 into `out`; returns rows per dataset."""
    import duckdb

    first = s.end - timedelta(days=s.days - 1)
    n_days = s.days + 1  # ... and D+1
    mean_lines = sum((i + 1) * share for i, share in enumerate(LINES_PER_ORDER))
    con = duckdb.connect()
    con.execute("set preserve_insertion_order = true")
    con.execute("set enable_progress_bar = false")
    con.execute(f"""create macro u(k, salt) as (hash({s.seed}, salt, k) % 1000003) / 1000003.0""")
    con.execute(f"""create table days as
        with w as (
            select d, date '{first}' + d::int as day,
                   {_WEEKDAY}[isodow(date '{first}' + d::int)]
                   * (case when strftime(date '{first}' + d::int, '%m-%d') in {PROMO_DAYS} then 3.0 else 1.0 end)
                   * (0.8 + 0.4 * d / {n_days}) * (0.9 + 0.2 * u(d, 'day')) as weight
            from range({n_days}) t(d))
        select d, day, greatest(1, round(weight * {s.lines * n_days / s.days / mean_lines}
                                          / sum(weight) over ()))::int as n_orders
        from w""")
    con.execute("alter table days add column first_o bigint")
    con.execute("update days set first_o = x.c from (select d, sum(n_orders) over (order by d) - n_orders as c "
                "from days) x where days.d = x.d")
    con.execute(f"""create table catalogue as
        select i, 'FS-' || lpad((10000 + i)::varchar, 5, '0') as sku,
               case when i % 17 = 3 then '羊毛毯, 双人 ' || i else '暖居家居 商品 ' || i end as product_name,
               round(19.9 + floor(u(i, 'price') * 60) * 10, 2)::decimal(18, 2) as list_price,
               date '2023-01-01' + (i * 3)::int as launched_on
        from range({SKUS}) t(i)""")
    cum = [sum(LINES_PER_ORDER[:i + 1]) for i in range(MAX_LINE)]
    con.execute(f"""create table orders as
        select o, d, day, n_orders, u(o, 'status') as st,
               day::timestamp + to_seconds(floor(86399 * sqrt(u(o, 'time')))::bigint) as created,
               case when u(o, 'guest') < 0.03 then null
                    else floor(({s.lines} / 3.0) * pow(u(o, 'customer'), 2))::bigint end as customer,
               1 + (u(o, 'lines') > {cum[0]})::int + (u(o, 'lines') > {cum[1]})::int
                 + (u(o, 'lines') > {cum[2]})::int as n_lines,
               strftime(day, '%m-%d') in {PROMO_DAYS} as promo
        from (select first_o + k as o, d, day, n_orders from days, range(n_orders) r(k))""")
    con.execute(f"""create table lines as
        select o.*, l.line_no, c.sku, c.product_name, c.list_price,
               (1 + (u(o.o * 4 + l.line_no, 'qty') > 0.8)::int + (u(o.o * 4 + l.line_no, 'qty') > 0.95)::int)
                 as quantity,
               round(c.list_price * case when o.promo then 0.8 else 1.0 end, 2)::decimal(18, 2) as unit_price
        from orders o, range(1, o.n_lines + 1) l(line_no),
             catalogue c
        where c.i = floor({SKUS} * pow(u(o.o * 4 + l.line_no, 'sku'), 2))::int""")
    ts = "'%Y-%m-%d %H:%M:%S'"
    cutoff = "(day + 1)::timestamp + interval '3 hours'"  # before the export job
    rows = {"orders": _copy(con, out, "orders", "orders_{day}.csv", f"""
        select day,
               'SO' || (100001 + o) as order_id,
               case when customer is null then null else 'C' || (200000 + customer) end as customer_id,
               strftime(created, {ts}) as created_at,
               case when st < 0.05 then null else strftime(paid, {ts}) end as paid_at,
               case when st < 0.05 then strftime(least(created + interval '30 minutes', {cutoff}), {ts})
                    when st < 0.07 then strftime(least(paid + interval '2 hours', {cutoff}), {ts})
                    else null end as cancelled_at,
               'CNY' as currency, sku, product_name, quantity, unit_price, list_price,
               case when line_no > 1 then null when promo and n_lines > 1 then '20.00' else '0.00' end
                 as order_discount,
               case when line_no > 1 then null when n_lines > 1 or unit_price >= 99 then '0.00' else '8.00' end
                 as shipping,
               case when line_no > 1 then null when st >= 0.07 and st < 0.09 then unit_price::varchar else '0.00' end
                 as refunded_amount,
               case when o % 4 = 0 then 'webshop' else 'marketplace' end as channel,
               'Buyer ' || coalesce(customer, o) as receiver_name,
               '+86 138 ' || lpad(((coalesce(customer, o) * 7919) % 100000000)::varchar, 8, '0') as receiver_phone,
               (coalesce(customer, o) % 900 + 1) || ' Wensan Road, Hangzhou' as receiver_address
        from (select *, created + to_seconds(20 + floor(600 * u(o, 'pay'))::bigint) as paid from lines)
        order by o, line_no""")}
    rows["reviews"] = _copy(con, out, "reviews", "reviews_{day}.csv", f"""
        select day + 2 as day, 'RV-' || (500000 + o) as review_id,
               strftime((day + 2)::timestamp + to_seconds(floor(80000 * u(o, 'rt'))::bigint), {ts}) as reviewed_at,
               case when u(o, 'rating') < 0.012 then 2 when u(o, 'rating') < 0.05 then 4 else 5 end as rating,
               sku, 'SO' || (100001 + o) as order_id,
               case when u(o, 'rating') < 0.012 then '质量一般' else '很好，物流快' end as body
        from lines where line_no = 1 and st >= 0.09 and u(o, 'review') < 0.2 and d + 2 < {n_days}
        order by o""")
    rows["stock"] = _copy(con, out, "stock", "stock_{day}.csv", """
        select day, sku, (20 + hash(d, i) % 400)::int as on_hand, product_name
        from days, catalogue order by d, i""")
    rows["traffic"] = _copy(con, out, "traffic", "traffic_{day}.csv", f"""
        select f.day, strftime(t.day, '%Y-%m-%d') as date,
               round(t.n_orders / {CONVERSION} * case when t.d = f.d then 0.97 else 1 end)::bigint as visitors,
               round(t.n_orders / {CONVERSION} * 1.2 * case when t.d = f.d then 0.97 else 1 end)::bigint as sessions,
               round(t.n_orders / {CONVERSION} * 4.1 * case when t.d = f.d then 0.97 else 1 end)::bigint
                 as pageviews
        from days f join days t on t.d between f.d - 2 and f.d order by f.d, t.d""")
    sources = "values ('direct', '', 0.40), ('organic_search', 'baidu', 0.30), ('marketplace', '手淘搜索', 0.35), " \
              "('email', 'newsletter', 0.08), ('social', 'douyin', 0.10)"
    rows["traffic_sources"] = _copy(con, out, "traffic_sources", "traffic_sources_{day}.csv", f"""
        select day, strftime(day, '%Y-%m-%d') as date, source, source_detail,
               round(n_orders / {CONVERSION} * share)::bigint as visitors,
               round(n_orders / {CONVERSION} * share * 1.2)::bigint as sessions,
               round(n_orders * share)::bigint as orders, round(n_orders * share * 0.97)::bigint as buyers,
               round(n_orders * share * 168.5, 2)::decimal(18, 2) as sales
        from days, ({sources}) s(source, source_detail, share) order by d, source""")
    campaigns = "values ('alimama', '万相台 - 爆款', 0.5, 4.0), ('alimama', '直通车 - 搜索', 0.3, 2.6), " \
                "('douyin_ads', '达人 - 冬季', 0.2, 1.6)"
    rows["ad_spend"] = _copy(con, out, "ad_spend", "ad_spend_{day}.csv", f"""
        select day, strftime(day, '%Y-%m-%d') as date, ad_platform, campaign,
               round(clicks * 0.85, 2)::decimal(18, 2) as spend, clicks * 31 as impressions, clicks,
               round(clicks * 0.85 * roas / 168.5)::bigint as attributed_orders,
               round(clicks * 0.85 * roas, 2)::decimal(18, 2) as attributed_sales, 'CNY' as currency
        from (select *, round(n_orders / {CONVERSION} * 0.1 * share * (0.8 + 0.4 * u(d, campaign)))::bigint
                          as clicks from days, ({campaigns}) c(ad_platform, campaign, share, roas))
        order by d, campaign""")
    products = out / STORE / "products" / first.isoformat()
    products.mkdir(parents=True)
    con.execute(f"""copy (select sku, product_name, list_price, round(list_price * 0.35, 2)::decimal(18, 2) as cost,
                                 launched_on from catalogue order by i)
                    to '{products / f"products_{first}.parquet"}' (format parquet)""")
    rows["products"] = SKUS
    daily_min = con.execute("select round(0.6 * median(n_orders))::int from days").fetchone()[0]
    con.close()
    (out / "stores.yml").write_text(_stores_yml(daily_min), encoding="utf-8")
    return rows


def _copy(con, out: Path, dataset: str, name: str, query: str) -> int:
    """COPY the query's rows to one CSV per `day` (its first column), then move each partition's file to
    <store>/<dataset>/<day>/<name>; returns the row count."""
    staging = out / f".{dataset}"
    count = con.execute(f"copy ({query}) to '{staging}' (format csv, header, partition_by (day), "
                        "overwrite_or_ignore)").fetchone()[0]
    for folder in sorted(staging.iterdir()):
        day = folder.name.split("=", 1)[1]
        parts = sorted(folder.iterdir())
        target = out / STORE / dataset / day
        target.mkdir(parents=True)
        path = target / name.format(day=day)
        if len(parts) == 1:
            os.rename(parts[0], path)
        else:  # several writer threads: one file per day, as the ERP writes it (header once)
            with path.open("wb") as dst:
                for k, part in enumerate(parts):
                    with part.open("rb") as src:
                        if k:
                            src.readline()
                        shutil.copyfileobj(src, dst)
    shutil.rmtree(staging)
    return count


def _stores_yml(daily_orders_min: int) -> str:
    import yaml

    doc = {"defaults": {"timezone": "UTC", "recipients": {"ops": ["ops@example.com"]}},
           "stores": [{"id": STORE, "name": "暖居家居天猫旗舰店 (ERP export)", "platform": "generic",
                       "timezone": "Asia/Shanghai", "currency": "CNY",
                       "thresholds": {"daily_orders_min": daily_orders_min},
                       "hero_skus": ["FS-10000", "FS-10001"],
                       "recipients": {"ops": ["flagship-ops@example.com"]}}]}
    return ("# Written by bench/scale_landing.py: the 10 M-line scenario's store.\n"
            + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
