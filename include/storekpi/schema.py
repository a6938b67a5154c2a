"""The warehouse's own tables: the canonical raw model, quarantine and audit.

This module is the contract between ingest (which writes these tables) and dbt (which reads them as sources):
one place for names and types. Types are portable SQL understood by DuckDB and PostgreSQL.

Conventions
- Timestamps (`*_at`) are store-local wall-clock time, without offset: an export's offset is applied and the
  result converted to the store's timezone at ingest, so `cast(paid_at as date)` is the store-local paid date.
- Money is DECIMAL(18, 2) in the order's currency; quantities and counts are integers.
- Every raw table carries the lineage columns of `LINEAGE`.
- No personal data: customers appear only as `customer_key` (see `storekpi.pii`).
"""

from __future__ import annotations

LINEAGE: dict[str, str] = {
    "_store_id": "VARCHAR NOT NULL",
    "_source_file": "VARCHAR NOT NULL",  # path relative to the landing folder, '/'-separated
    "_row_number": "INTEGER NOT NULL",  # 1-based line of the file as an editor shows it (header included)
    "_export_date": "DATE NOT NULL",  # the landing folder's date
    "_batch_id": "VARCHAR NOT NULL",  # run that loaded the row
    "_loaded_at": "TIMESTAMP NOT NULL",  # UTC
}

MONEY = "DECIMAL(18, 2)"

RAW: dict[str, dict[str, str]] = {
    # order grain: one row per order and file
    "orders": {
        "order_id": "VARCHAR NOT NULL",  # Shopify Name ('#1001'), Taobao 订单编号, generic order_id
        "customer_key": "VARCHAR",  # NULL = anonymous (guest) order
        "currency": "VARCHAR",
        "status": "VARCHAR",  # Shopify Financial Status, Taobao 订单状态, NULL for generic
        "created_at": "TIMESTAMP",
        "paid_at": "TIMESTAMP",  # NULL = unpaid, never counts
        "cancelled_at": "TIMESTAMP",
        "subtotal": MONEY,  # Shopify Subtotal
        "order_discount": MONEY,  # Shopify Discount Amount, generic order_discount
        "shipping": MONEY,  # Shopify Shipping, Taobao 买家应付邮费, generic shipping
        "taxes": MONEY,  # Shopify Taxes
        "total": MONEY,  # Shopify Total, Taobao 买家实际支付金额
        "goods_amount": MONEY,  # Taobao 买家应付货款
        "refunded_amount": MONEY,
        "item_count": "INTEGER",  # Taobao 宝贝总数量
        "fulfilled_at": "TIMESTAMP",  # Shopify Fulfilled at, generic fulfilled_at: paid then on cash on delivery
        "line_differences": "VARCHAR",  # order fields whose lines differed by < 1 day (first line's value taken)
    },
    # line grain: one row per order line and file
    "order_lines": {
        "order_id": "VARCHAR NOT NULL",
        "line_number": "INTEGER NOT NULL",  # 1-based position of the line within its order in this file
        "sku": "VARCHAR",
        "product_name": "VARCHAR",
        "quantity": "INTEGER NOT NULL",
        "unit_price": MONEY + " NOT NULL",  # price actually charged per unit before order discounts
        "compare_at_price": MONEY,  # Shopify Lineitem compare at price
        "list_price": MONEY,  # Taobao 价格, generic list_price
    },
    # store x day
    "traffic": {
        "date": "DATE NOT NULL",
        "visitors": "INTEGER",
        "sessions": "INTEGER",
        "pageviews": "INTEGER",
        "paying_buyers": "INTEGER",  # Taobao 支付买家数
    },
    "reviews": {
        "review_id": "VARCHAR NOT NULL",  # identity per sources.md; hashed where it contains personal data
        "reviewed_at": "TIMESTAMP NOT NULL",
        "rating": "INTEGER NOT NULL",  # 1..5 (Taobao 好评 5, 中评 3, 差评 1)
        "product": "VARCHAR",  # product handle, 宝贝标题 or sku
        "order_id": "VARCHAR",
    },
    # store x SKU x location x snapshot date (the folder date); dbt sums locations
    "stock": {
        "snapshot_date": "DATE NOT NULL",
        "sku": "VARCHAR",  # NULL: a row without SKU, loaded but kept out of SKU marts (a warning counts them)
        "location": "VARCHAR",
        "product_name": "VARCHAR",
        "on_hand": "INTEGER",  # NULL: 'not stocked' at that location (adds nothing)
    },
    "products": {
        "valid_from": "DATE NOT NULL",  # the export date: the list price is in force from then on
        "sku": "VARCHAR NOT NULL",
        "product_name": "VARCHAR",
        "list_price": MONEY,
        "cost": MONEY,
        "launched_on": "DATE",
        "lead_time_days": "INTEGER",  # generic products; else the store's lead_time_days threshold
    },
    # marketing.md: store x date x source x source_detail (a file without dates covers its folder date)
    "traffic_sources": {
        "date": "DATE NOT NULL",
        "source": "VARCHAR NOT NULL",  # Shopify Referrer source, 生意参谋 来源, generic source
        "source_detail": "VARCHAR",  # Shopify Referrer name, 生意参谋 来源明细
        "visitors": "INTEGER",
        "sessions": "INTEGER",
        "orders": "INTEGER",  # Shopify Sessions that completed checkout, 生意参谋 下单买家数
        "buyers": "INTEGER",  # 生意参谋 支付买家数
        "sales": MONEY,  # 生意参谋 支付金额
    },
    # marketing.md: store x date x ad_platform x campaign, as the ad platform reports it
    "ad_spend": {
        "date": "DATE NOT NULL",
        "ad_platform": "VARCHAR NOT NULL",  # alimama | google_ads | meta_ads | generic ad_platform
        "campaign": "VARCHAR NOT NULL",
        "currency": "VARCHAR",  # Google Currency code, Meta's 'Amount spent (<CUR>)', generic currency
        "spend": MONEY,
        "impressions": "BIGINT",
        "clicks": "BIGINT",
        "attributed_orders": "DECIMAL(18, 2)",  # Google Conversions may be fractional
        "attributed_sales": MONEY,
    },
}

# Written by the pipeline from stores.yml on every run: the one path thresholds reach dbt by.
CONFIG: dict[str, dict[str, str]] = {
    "stores": {
        "store_id": "VARCHAR NOT NULL",
        "name": "VARCHAR NOT NULL",
        "platform": "VARCHAR NOT NULL",
        "timezone": "VARCHAR NOT NULL",
        "currency": "VARCHAR NOT NULL",
        "conversion_rate_min": "DOUBLE PRECISION",
        "positive_review_rate_min": "DOUBLE PRECISION",
        "daily_orders_min": "INTEGER",
        "cover_days_min": "DOUBLE PRECISION",
        "discount_floor": "DOUBLE PRECISION",
        "max_quarantine_share": "DOUBLE PRECISION",
        "prices_include_tax": "BOOLEAN",  # NULL: decided per order (kpis.md "Order facts")
        "cash_on_delivery": "BOOLEAN",
        "roas_min": "DOUBLE PRECISION",  # marketing.md
        "min_campaign_spend": "DOUBLE PRECISION",
        "loyal_min_orders": "INTEGER",
        # merchandising (merchandising.md); service_level_z is the normal quantile of service_level
        "hero_min_on_hand": "INTEGER",
        "lead_time_days": "INTEGER",
        "review_days": "INTEGER",
        "service_level": "DOUBLE PRECISION",
        "service_level_z": "DOUBLE PRECISION",
        "promo_lift": "DOUBLE PRECISION",
        "dead_stock_days": "INTEGER",
        "promo_horizon_days": "INTEGER",
        # targets.md
        "pacing_min": "DOUBLE PRECISION",
        "budget_tolerance": "DOUBLE PRECISION",
        "refund_rate_max": "DOUBLE PRECISION",
        "goal_daily_orders": "DOUBLE PRECISION",  # goals.daily_orders: never a threshold, never alerts
    },
    # targets.md: the thresholds in force per phase; one row per store and phase, [valid_from, valid_to)
    "store_thresholds": {
        "store_id": "VARCHAR NOT NULL",
        "valid_from": "DATE NOT NULL",  # PHASE_START for the phase before any `targets` entry
        "valid_to": "DATE",  # exclusive; NULL: in force until a later stores.yml says otherwise
        # ... and every threshold column of raw.stores (THRESHOLD_COLUMNS), added below
    },
    # targets.md: `monthly_targets` (a store's entry merged key by key over the defaults'), one row per metric
    "monthly_targets": {
        "store_id": "VARCHAR NOT NULL",
        "month": "DATE NOT NULL",  # the first day of the month
        "metric": "VARCHAR NOT NULL",  # net_sales | orders | visitors | new_buyers | ad_budget
        "target": "DOUBLE PRECISION NOT NULL",
    },
    # marketing.md: stores.yml `channels:` (defaults merged into each store), ahead of the channel_map seed
    "store_channels": {
        "store_id": "VARCHAR NOT NULL",
        "match_value": "VARCHAR NOT NULL",  # a source or source_detail, lower-case and trimmed
        "channel": "VARCHAR NOT NULL",
    },
    # one row per store and configured hero SKU (stores.yml hero_skus)
    "hero_skus": {
        "store_id": "VARCHAR NOT NULL",
        "sku": "VARCHAR NOT NULL",
    },
    # one row per store and promo date, with MM-DD rules expanded over the years the data spans
    "promo_days": {
        "store_id": "VARCHAR NOT NULL",
        "date": "DATE NOT NULL",
    },
}

NOT_THRESHOLDS = ("store_id", "name", "platform", "timezone", "currency", "prices_include_tax", "cash_on_delivery",
                  "goal_daily_orders")
THRESHOLD_COLUMNS = [c for c in CONFIG["stores"] if c not in NOT_THRESHOLDS]
CONFIG["store_thresholds"].update({c: CONFIG["stores"][c] for c in THRESHOLD_COLUMNS})
PHASE_START = "1900-01-01"  # valid_from of a store's first phase: before any data

QUARANTINE: dict[str, str] = {
    "_store_id": "VARCHAR NOT NULL",
    "_source_file": "VARCHAR NOT NULL",
    "_row_number": "INTEGER",  # NULL when the whole file is rejected
    "_export_date": "DATE",
    "_batch_id": "VARCHAR NOT NULL",
    "_loaded_at": "TIMESTAMP NOT NULL",
    "dataset": "VARCHAR NOT NULL",
    "reason": "VARCHAR NOT NULL",  # quality.md reason code
    "column_name": "VARCHAR",
    "message": "VARCHAR NOT NULL",  # names file, row and column
    "raw_values": "VARCHAR",  # JSON object of the row's non-personal source columns
}

AUDIT: dict[str, dict[str, str]] = {
    "files": {
        "path": "VARCHAR NOT NULL",  # relative to the landing folder; primary key
        "store_id": "VARCHAR NOT NULL",
        "dataset": "VARCHAR NOT NULL",
        "export_date": "DATE NOT NULL",
        "sha256": "VARCHAR NOT NULL",
        "format": "VARCHAR",  # csv | tsv | csv.gz | xlsx | parquet
        "encoding": "VARCHAR",
        "status": "VARCHAR NOT NULL",  # loaded | rejected | forgotten
        "reason": "VARCHAR",  # why a file was rejected: unknown_headers | undecodable | unreadable | outside_landing |
        # too_large
        "message": "VARCHAR",
        "rows_in": "INTEGER NOT NULL",
        "rows_loaded": "INTEGER NOT NULL",
        "rows_quarantined": "INTEGER NOT NULL",
        "batch_id": "VARCHAR NOT NULL",
        "loaded_at": "TIMESTAMP NOT NULL",
        # the stat cache (ingest.py): the file as it was read; NULL = hash it next run
        "file_size": "BIGINT",
        "file_mtime_ns": "BIGINT",
        "file_ctime_ns": "BIGINT",
    },
    "runs": {
        "run_id": "VARCHAR NOT NULL",
        "date": "DATE NOT NULL",
        "status": "VARCHAR NOT NULL",  # published | blocked | failed
        "started_at": "TIMESTAMP NOT NULL",
        "finished_at": "TIMESTAMP",
        "stores": "INTEGER",
        "files_loaded": "INTEGER",
        "rows_loaded": "INTEGER",
        "rows_quarantined": "INTEGER",
        "alerts": "INTEGER",
        "task_seconds": "VARCHAR",  # JSON {task: seconds}
        "message": "VARCHAR",
    },
    "dq_results": {
        "run_id": "VARCHAR NOT NULL",
        "suite": "VARCHAR NOT NULL",
        "expectation": "VARCHAR NOT NULL",
        "table_name": "VARCHAR",
        "column_name": "VARCHAR",
        "blocking": "BOOLEAN NOT NULL",
        "success": "BOOLEAN NOT NULL",
        "unexpected_count": "BIGINT",
        "element_count": "BIGINT",
        "details": "VARCHAR",  # JSON: observed values and a few example rows
        "evaluated_at": "TIMESTAMP NOT NULL",
    },
    # warehouse-wide settings, e.g. the PostgreSQL personal-data salt (see storekpi.pii)
    "settings": {
        "key": "VARCHAR PRIMARY KEY",
        "value": "VARCHAR NOT NULL",
    },
}


def create_table_sql(schema: str, table: str, columns: dict[str, str]) -> str:
    cols = ",\n  ".join(f'"{name}" {sql_type}' for name, sql_type in columns.items())
    return f"CREATE TABLE IF NOT EXISTS {schema}.{table} (\n  {cols}\n)"


def all_tables() -> list[tuple[str, str, dict[str, str]]]:
    """(schema, table, columns) for every table storekpi itself writes."""
    tables = [("raw", name, {**cols, **LINEAGE}) for name, cols in RAW.items()]
    tables += [("raw", name, cols) for name, cols in CONFIG.items()]
    tables.append(("quarantine", "rows", QUARANTINE))
    tables += [("audit", name, cols) for name, cols in AUDIT.items()]
    return tables


def ddl() -> list[str]:
    """Statements that create every storekpi-owned schema and table (idempotent)."""
    statements = [f"CREATE SCHEMA IF NOT EXISTS {s}" for s in ("raw", "quarantine", "audit")]
    statements += [create_table_sql(s, t, c) for s, t, c in all_tables()]
    statements += added_columns_sql()
    return statements


def added_columns_sql() -> list[str]:
    """A warehouse made by an older storekpi gains the nullable columns added since (both backends know
    ADD COLUMN IF NOT EXISTS); NOT NULL columns are never added later."""
    return [f'ALTER TABLE {s}.{t} ADD COLUMN IF NOT EXISTS "{name}" {sql_type}'
            for s, t, columns in all_tables() for name, sql_type in columns.items()
            if "NOT NULL" not in sql_type and "PRIMARY KEY" not in sql_type]
