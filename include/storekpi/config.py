"""stores.yml: the store configuration, validated once and turned into typed objects.

Defaults are merged key by key into each store (thresholds too); promo days add up. Every error names the file and
the key, because the operator who edits this file is not the one who reads the traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from statistics import NormalDist
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from storekpi.errors import ConfigError

PLATFORMS = ("shopify", "taobao", "generic")
ROLES = ("ops", "merchandiser", "marketing", "customer_service", "data")
DEFAULT_THRESHOLDS = {
    "conversion_rate_min": 0.02,
    "positive_review_rate_min": 0.985,
    "daily_orders_min": 30,
    "cover_days_min": 7,
    "discount_floor": 0.70,
    "max_quarantine_share": 0.05,
    "roas_min": 2.0,  # marketing.md: a campaign-day below this ROAS alerts ...
    "min_campaign_spend": 50,  # ... when it spent at least this much
    "loyal_min_orders": 3,  # customers.md: orders in 365 days that make a recent customer loyal
    # merchandising (merchandising.md)
    "hero_min_on_hand": 30,
    "lead_time_days": 7,
    "review_days": 7,
    "service_level": 0.95,
    "promo_lift": 3.0,
    "dead_stock_days": 60,
    "promo_horizon_days": 14,
    # targets (targets.md)
    "pacing_min": 0.9,  # projected month end / monthly target below which pacing_behind fires
    "budget_tolerance": 0.10,  # ad spend may run this far ahead of the prorated monthly budget
    "refund_rate_max": 0.05,
}
# Merchandising thresholds outside these bounds make no sense: (low, high, whole number); bounds are inclusive
# except service_level's lower one (a quantile of 0.5 or less would mean no safety stock at all).
THRESHOLD_BOUNDS = {
    "hero_min_on_hand": (0, None, True),
    "lead_time_days": (1, None, True),
    "review_days": (0, None, True),
    "service_level": (0.5, 0.999, False),
    "promo_lift": (0, None, False),
    "dead_stock_days": (1, None, True),
    "promo_horizon_days": (1, None, True),
    "pacing_min": (0, None, False),
    "budget_tolerance": (0, None, False),
    "refund_rate_max": (0, 1, False),
}
# targets.md: what `monthly_targets` and `goals` may set
MONTHLY_METRICS = ("net_sales", "orders", "visitors", "new_buyers", "ad_budget")
GOALS = ("daily_orders",)
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
WHOLE_THRESHOLDS = ("loyal_min_orders",)  # counts: a whole number of at least 1
CHANNELS = ("direct", "organic_search", "paid_ads", "marketplace", "social", "email", "affiliate", "referral",
            "other")
DEFAULT_PROMO_DAYS = ("06-18", "11-11", "12-12")
STORE_ID = re.compile(r"^[a-z0-9_]+$")
PROMO_DAY = re.compile(r"^(\d{4}-)?\d{2}-\d{2}$")
DATE_ORDERS = ("dmy", "mdy")  # how 03/04/2024 reads (sources.md "Re-saved in a spreadsheet")
EARLIEST_DATE = date(2000, 1, 1)  # timestamps before it are implausible_date (quality.md)


@dataclass(frozen=True)
class Store:
    id: str
    name: str
    platform: str
    timezone: str
    currency: str
    thresholds: dict[str, float]
    promo_days: tuple[str, ...]
    recipients: dict[str, tuple[str, ...]] = field(default_factory=dict)
    date_order: str | None = None  # dmy | mdy; None: month first unless the file proves day first (a day > 12)
    history_start: date | None = None  # optional: timestamps before it are implausible_date

    @property
    def earliest_date(self) -> date:
        """Timestamps before this day are quarantined as implausible_date."""
        return max(EARLIEST_DATE, self.history_start or EARLIEST_DATE)
    channels: dict[str, str] = field(default_factory=dict)  # source or source_detail -> channel (marketing.md)
    prices_include_tax: bool | None = None  # None: each Shopify order's totals decide (kpis.md "Order facts")
    cash_on_delivery: bool = False  # an unpaid, fulfilled, not cancelled order is paid when fulfilled
    hero_skus: tuple[str, ...] = ()  # empty: the 2 SKUs with the most units_28d (merchandising.md)
    # targets.md: (first day, every threshold in force from then until the next phase); the first phase starts
    # with None (always) and holds `thresholds`
    phases: tuple[tuple[date | None, dict[str, float]], ...] = ()
    goals: dict[str, float] = field(default_factory=dict)  # goals.daily_orders: never a threshold
    monthly_targets: dict[str, dict[str, float]] = field(default_factory=dict)  # "YYYY-MM" -> metric -> target

    def thresholds_on(self, day: date) -> dict[str, float]:
        """The thresholds in force on a store-local day (targets.md precedence)."""
        current = self.thresholds
        for start, values in self.phases:
            if start is None or start <= day:
                current = values
        return current

    @property
    def service_level_z(self) -> float:
        """The standard normal quantile of service_level, for dbt (the warehouses have no inverse normal CDF)."""
        return NormalDist().inv_cdf(self.thresholds["service_level"])

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def promo_dates(self, first_year: int, last_year: int) -> list[date]:
        """Every promo date between the two years, MM-DD rules expanded per year."""
        days = set()
        for rule in self.promo_days:
            if len(rule) == 10:
                days.add(date.fromisoformat(rule))
                continue
            month, day = int(rule[:2]), int(rule[3:])
            for year in range(first_year, last_year + 1):
                try:
                    days.add(date(year, month, day))
                except ValueError:  # 02-29 in a non-leap year
                    pass
        return sorted(days)


@dataclass(frozen=True)
class StoreConfig:
    path: Path
    stores: tuple[Store, ...]

    def get(self, store_id: str) -> Store:
        for store in self.stores:
            if store.id == store_id:
                return store
        raise KeyError(store_id)

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.stores]

    def recipients(self, role: str) -> dict[str, set[str]]:
        """address -> store ids for which this address receives `role` alerts."""
        out: dict[str, set[str]] = {}
        for store in self.stores:
            for address in store.recipients.get(role, ()):
                out.setdefault(address, set()).add(store.id)
        return out


def load(path: str | Path) -> StoreConfig:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"--stores: file not found: {path}")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {}
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: an unquoted impossible date such as 2021-02-30
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a mapping with 'defaults' and 'stores'")
    defaults = _mapping(doc.get("defaults") or {}, path, "defaults")
    entries = doc.get("stores")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: 'stores' must be a non-empty list")
    stores = [_store(entry, defaults, path, i) for i, entry in enumerate(entries)]
    seen: set[str] = set()
    for store in stores:
        if store.id in seen:
            raise ConfigError(f"{path}: store id {store.id!r} is listed twice")
        seen.add(store.id)
    return StoreConfig(path=path, stores=tuple(stores))


def _store(entry: object, defaults: dict, path: Path, index: int) -> Store:
    where = f"stores[{index}]"
    entry = _mapping(entry, path, where)
    store_id = entry.get("id")
    if not isinstance(store_id, str) or not STORE_ID.match(store_id):
        raise ConfigError(f"{path}: {where}.id must match [a-z0-9_]+, got {store_id!r}")
    where = f"store {store_id!r}"
    platform = entry.get("platform", defaults.get("platform"))
    if platform not in PLATFORMS:
        raise ConfigError(f"{path}: {where}: platform must be one of {', '.join(PLATFORMS)}, got {platform!r}")
    timezone = entry.get("timezone", defaults.get("timezone", "UTC"))
    try:
        ZoneInfo(str(timezone))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"{path}: {where}: unknown timezone {timezone!r}") from exc
    currency = entry.get("currency", defaults.get("currency"))
    if not isinstance(currency, str) or not re.match(r"^[A-Z]{3}$", currency):
        raise ConfigError(f"{path}: {where}: currency must be an ISO code like CNY, got {currency!r}")
    thresholds = dict(DEFAULT_THRESHOLDS)
    own_thresholds: dict[str, float] = {}
    for source, label in ((defaults.get("thresholds") or {}, "defaults.thresholds"),
                          (entry.get("thresholds") or {}, f"{where}.thresholds")):
        for key, value in _mapping(source, path, label).items():
            _check_threshold(path, label, key, value)
            thresholds[key] = value
            if label != "defaults.thresholds":
                own_thresholds[key] = value
    default_targets = _targets(defaults.get("targets"), path, "defaults.targets")
    store_targets = _targets(entry.get("targets"), path, f"{where}.targets")
    phases = _phases(thresholds, own_thresholds, default_targets, store_targets)
    goals: dict[str, float] = {}
    for source, label in ((defaults.get("goals") or {}, "defaults.goals"), (entry.get("goals") or {}, f"{where}.goals")):
        for key, value in _mapping(source, path, label).items():
            if key not in GOALS:
                raise ConfigError(f"{path}: {label}: unknown goal {key!r} (known: {', '.join(GOALS)})")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(f"{path}: {label}.{key} must be a number above 0, got {value!r}")
            goals[key] = value
    monthly: dict[str, dict[str, float]] = {}
    for source, label in ((defaults.get("monthly_targets") or {}, "defaults.monthly_targets"),
                          (entry.get("monthly_targets") or {}, f"{where}.monthly_targets")):
        for month, metrics in _mapping(source, path, label).items():
            match = MONTH.match(str(month))
            if not match or not 1 <= int(match.group(2)) <= 12:
                raise ConfigError(f"{path}: {label}: month {month!r} is not YYYY-MM (quote it: \"2026-11\")")
            for metric, value in _mapping(metrics, path, f"{label}.{month}").items():
                if metric not in MONTHLY_METRICS:
                    raise ConfigError(f"{path}: {label}.{month}: unknown metric {metric!r} "
                                      f"(known: {', '.join(MONTHLY_METRICS)})")
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                    raise ConfigError(f"{path}: {label}.{month}.{metric} must be a number of at least 0, "
                                      f"got {value!r}")
                monthly.setdefault(str(month), {})[metric] = value  # the store's entry merges key by key
    promo = list(defaults.get("promo_days", DEFAULT_PROMO_DAYS)) + list(entry.get("promo_days") or [])
    for day in promo:
        if not isinstance(day, str) or not PROMO_DAY.match(day):
            raise ConfigError(f"{path}: {where}: promo day {day!r} is not MM-DD or YYYY-MM-DD")
        try:
            date.fromisoformat(day if len(day) == 10 else f"2000-{day}")
        except ValueError as exc:
            raise ConfigError(f"{path}: {where}: promo day {day!r} is not a calendar date") from exc
    recipients: dict[str, tuple[str, ...]] = {}
    for source, label in ((defaults.get("recipients") or {}, "defaults.recipients"),
                          (entry.get("recipients") or {}, f"{where}.recipients")):
        for role, addresses in _mapping(source, path, label).items():
            if role not in ROLES:
                raise ConfigError(f"{path}: {label}: unknown role {role!r} (known: {', '.join(ROLES)})")
            if not isinstance(addresses, list) or not all(isinstance(a, str) and "@" in a for a in addresses):
                raise ConfigError(f"{path}: {label}.{role} must be a list of e-mail addresses")
            recipients[role] = tuple(addresses)
    date_order = entry.get("date_order", defaults.get("date_order"))
    if date_order is not None and date_order not in DATE_ORDERS:
        raise ConfigError(f"{path}: {where}: date_order must be one of {', '.join(DATE_ORDERS)}, got {date_order!r}")
    history_start = entry.get("history_start", defaults.get("history_start"))
    if history_start is not None:
        try:  # YAML reads an unquoted 2021-01-01 as a date already
            history_start = date.fromisoformat(str(history_start))
        except ValueError:
            raise ConfigError(f"{path}: {where}: history_start must be a date like 2021-01-01, "
                              f"got {history_start!r}") from None
    channels: dict[str, str] = {}
    for source, label in ((defaults.get("channels") or {}, "defaults.channels"),
                          (entry.get("channels") or {}, f"{where}.channels")):
        for value, channel in _mapping(source, path, label).items():
            if channel not in CHANNELS:
                raise ConfigError(f"{path}: {label}.{value}: unknown channel {channel!r} "
                                  f"(known: {', '.join(CHANNELS)})")
            channels[str(value).strip().lower()] = channel
    flags = {key: _flag(entry, defaults, key, path, where) for key in ("prices_include_tax", "cash_on_delivery")}
    hero_skus = entry.get("hero_skus", defaults.get("hero_skus")) or []
    if not isinstance(hero_skus, list) or not all(isinstance(sku, (str, int)) and str(sku).strip()
                                                  for sku in hero_skus):
        raise ConfigError(f"{path}: {where}.hero_skus must be a list of SKUs, got {hero_skus!r}")
    return Store(
        id=store_id,
        name=str(entry.get("name") or store_id),
        platform=platform,
        timezone=str(timezone),
        currency=currency,
        thresholds=thresholds,
        promo_days=tuple(dict.fromkeys(promo)),
        recipients=recipients,
        date_order=date_order,
        history_start=history_start,
        channels=channels,
        prices_include_tax=flags["prices_include_tax"],
        cash_on_delivery=bool(flags["cash_on_delivery"]),
        hero_skus=tuple(dict.fromkeys(str(sku).strip() for sku in hero_skus)),
        phases=phases,
        goals=goals,
        monthly_targets=monthly,
    )


def _check_threshold(path: Path, label: str, key: str, value: object) -> None:
    if key not in DEFAULT_THRESHOLDS:
        raise ConfigError(f"{path}: {label}: unknown threshold {key!r} "
                          f"(known: {', '.join(DEFAULT_THRESHOLDS)})")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{path}: {label}.{key} must be a number, got {value!r}")
    if key in WHOLE_THRESHOLDS and (value != int(value) or value < 1):
        raise ConfigError(f"{path}: {label}.{key} must be a whole number of at least 1, got {value!r}")
    _check_bounds(path, f"{label}.{key}", key, value)


def _targets(value: object, path: Path, label: str) -> list[tuple[date, dict[str, float]]]:
    """A `targets` list: phases in date order, each setting thresholds from its `from` day."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{path}: {label} must be a list of {{from: YYYY-MM-DD, <threshold>: value}}")
    phases: list[tuple[date, dict[str, float]]] = []
    for i, entry in enumerate(value):
        where = f"{label}[{i}]"
        entry = dict(_mapping(entry, path, where))
        start = entry.pop("from", None)
        try:  # YAML reads an unquoted 2026-02-01 as a date already
            start = date.fromisoformat(str(start))
        except ValueError:
            raise ConfigError(f"{path}: {where}.from must be a date like 2026-02-01, got {start!r}") from None
        if phases and start <= phases[-1][0]:
            raise ConfigError(f"{path}: {where}.from {start} is not after the previous phase's "
                              f"{phases[-1][0]}: phases must be in date order")
        if not entry:
            raise ConfigError(f"{path}: {where} sets no threshold")
        for key, threshold in entry.items():
            _check_threshold(path, where, key, threshold)
        phases.append((start, entry))
    return phases


def _phases(base: dict[str, float], own: dict[str, float], default_targets: list, store_targets: list
            ) -> tuple[tuple[date | None, dict[str, float]], ...]:
    """Every threshold per phase. A key on a day comes from the store's latest `targets` entry setting it, else
    the store's `thresholds`, else the defaults' latest `targets` entry, else the defaults' thresholds."""
    def latest(targets: list, key: str, day: date):
        found = None
        for start, values in targets:
            if start <= day and key in values:
                found = values[key]
        return found

    phases: list[tuple[date | None, dict[str, float]]] = [(None, dict(base))]
    for day in sorted({start for start, _ in default_targets + store_targets}):
        values = {}
        for key, value in base.items():
            store_value = latest(store_targets, key, day)
            default_value = None if key in own else latest(default_targets, key, day)
            values[key] = store_value if store_value is not None else (
                default_value if default_value is not None else value)
        if values != phases[-1][1]:
            phases.append((day, values))
    return tuple(phases)


def _flag(entry: dict, defaults: dict, key: str, path: Path, where: str) -> bool | None:
    """A true/false store key (the store's value over the default's); None when neither sets it."""
    value = entry.get(key, defaults.get(key))
    if value is not None and not isinstance(value, bool):
        raise ConfigError(f"{path}: {where}: {key} must be true or false, got {value!r}")
    return value


def _check_bounds(path: Path, where: str, key: str, value: float) -> None:
    if key not in THRESHOLD_BOUNDS:
        return
    low, high, whole = THRESHOLD_BOUNDS[key]
    if whole and value != int(value):
        raise ConfigError(f"{path}: {where} must be a whole number, got {value!r}")
    if key == "service_level" and not low < value <= high:
        raise ConfigError(f"{path}: {where} must be above {low} and at most {high}, got {value!r}")
    if value < low or (high is not None and value > high):
        raise ConfigError(f"{path}: {where} must be at least {low}, got {value!r}")


def _mapping(value: object, path: Path, where: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: {where} must be a mapping")
    return value
