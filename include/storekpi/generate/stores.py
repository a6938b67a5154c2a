"""The demo stores: one profile per platform (volume, conversion, weekday pattern, review mood, last-day quirks that
make several alert rules fire), cycled when more stores are asked for, and their stores.yml."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import yaml

from storekpi.config import DEFAULT_PROMO_DAYS, DEFAULT_THRESHOLDS

PLATFORM_CYCLE = ("shopify", "taobao", "generic")
UPCOMING_PROMO_IN_DAYS = 10  # decision due 3 days after the last day
# targets.md plan: the daily order target rises to daily_orders_min this many days before the last day (before it,
# PLAN_EARLIER_FACTOR of it); monthly targets (for the months the period holds from their first day, and D's) are the
# plan's volumes x MONTHLY_FACTOR, except the store whose
# monthly orders target is out of reach (BEHIND_FACTOR: pacing_behind fires on the last day).
PHASE_CHANGE_DAYS_BEFORE_END = 6
PLAN_EARLIER_FACTOR = 0.8
MONTHLY_FACTOR = 0.9
BEHIND_FACTOR = 1.8
BEHIND_STORE = "taobao"  # the platform of the store behind pace
# ... and the store whose monthly ad budget is OVERRUN_FACTOR of what its campaigns spend (ad_budget_overrun fires)
OVERRUN_STORE = "generic"
OVERRUN_FACTOR = 0.7


@dataclass(frozen=True)
class StoreProfile:
    id: str
    name: str
    platform: str
    timezone: str
    currency: str
    base_orders: float  # mean paid orders on an ordinary weekday
    conversion: float  # paid orders / visitors on an ordinary day
    weekday: tuple[float, ...]  # Monday..Sunday traffic multipliers
    guest_share: float  # orders without a customer identity
    review_share: float  # paid orders that get reviewed
    negative_review_share: float  # reviews rated below 4
    last_day_traffic: float = 1.0  # < 0.7 makes traffic_drop fire on the last day
    last_day_conversion: float = 1.0  # < 1 pushes conversion below target on the last day
    target_factor: float = 0.75  # daily_orders_min = base_orders x this (> 1: orders_below_target fires)
    foreign_currency: str | None = None  # a few cross-border orders in this currency (currency_mismatch)
    store_promo_days: tuple[str, ...] = ()  # MM-DD, added to the default promo days
    recipients: dict[str, list[str]] = field(default_factory=dict)
    # how orders are charged, where the store differs from its platform's defaults (generate/__init__ `_CHARGES`)
    charges: dict[str, object] = field(default_factory=dict)
    cash_on_delivery: bool = False  # stores.yml `cash_on_delivery: true`

    @property
    def daily_orders_min(self) -> int:
        return max(1, round(self.base_orders * self.target_factor))


_TEMPLATES = {
    "shopify": StoreProfile(
        id="us_shopify", name="Maple Street Goods", platform="shopify", timezone="America/New_York",
        currency="USD", base_orders=40, conversion=0.026, weekday=(1.0, 0.97, 0.95, 1.0, 1.06, 1.22, 1.15),
        guest_share=0.09, review_share=0.22, negative_review_share=0.012, target_factor=0.75,
        foreign_currency="CAD",
        recipients={"ops": ["us-ops@example.com"], "merchandiser": ["us-buying@example.com"]},
    ),
    "taobao": StoreProfile(
        id="tmall_flagship", name="暖居家居天猫旗舰店", platform="taobao", timezone="Asia/Shanghai", currency="CNY",
        base_orders=110, conversion=0.031, weekday=(0.95, 0.93, 0.94, 0.97, 1.04, 1.15, 1.18),
        guest_share=0.0, review_share=0.35, negative_review_share=0.03, last_day_traffic=0.6,
        target_factor=1.35, store_promo_days=("11-01",),
        recipients={"ops": ["tmall-ops@example.com"], "customer_service": ["tmall-kefu@example.com"],
                    "marketing": ["tmall-marketing@example.com"]},
    ),
    "generic": StoreProfile(
        id="eu_erp", name="Nordlicht Home (ERP)", platform="generic", timezone="Europe/Berlin", currency="EUR",
        base_orders=25, conversion=0.022, weekday=(1.05, 1.0, 0.98, 1.0, 0.96, 0.9, 1.12),
        guest_share=0.05, review_share=0.2, negative_review_share=0.008, last_day_conversion=0.72,
        target_factor=0.8, foreign_currency="USD",
        recipients={"ops": ["eu-ops@example.com"], "merchandiser": ["eu-einkauf@example.com"]},
    ),
}

# Stores of the real-export options (`storekpi generate --vat-store / --cod-store`), added after the others so the
# default stores draw the same numbers with or without them.
EXTRA_STORES = {
    "vat_store": StoreProfile(  # UK VAT 20 %: prices and shipping include it, Total = Subtotal + Shipping
        id="uk_shopify", name="Thistle & Loom (UK, VAT inclusive)", platform="shopify", timezone="Europe/London",
        currency="GBP", base_orders=30, conversion=0.024, weekday=(1.0, 0.98, 0.97, 1.0, 1.05, 1.18, 1.12),
        guest_share=0.1, review_share=0.2, negative_review_share=0.01, target_factor=0.7,
        recipients={"ops": ["uk-ops@example.com"]},
        charges=dict(tax_rate=0.2, prices_include_tax=True, free_shipping_from=6000, shipping_cents=395),
    ),
    "cod_store": StoreProfile(  # India: most orders cash on delivery, paid when fulfilled
        id="in_shopify", name="Kesari Handloom (cash on delivery)", platform="shopify", timezone="Asia/Kolkata",
        currency="INR", base_orders=35, conversion=0.02, weekday=(1.0, 1.0, 0.98, 1.0, 1.04, 1.15, 1.2),
        guest_share=0.15, review_share=0.15, negative_review_share=0.02, target_factor=0.6,
        recipients={"ops": ["in-ops@example.com"]}, cash_on_delivery=True,
        charges=dict(tax_rate=0.0, free_shipping_from=49900, shipping_cents=4900, cod_share=0.75),
    ),
}

DEFAULT_RECIPIENTS = {
    "ops": ["ops@example.com"],
    "merchandiser": ["merchandising@example.com"],
    "marketing": ["marketing@example.com"],
    "customer_service": ["support@example.com"],
    "data": ["data-team@example.com"],
}


def profiles(count: int, orders_per_day: int | None, extra: tuple[str, ...] = ()) -> list[StoreProfile]:
    """Store 1 is Shopify, 2 Taobao/Tmall, 3 generic, then the cycle repeats with numbered ids; then the `extra`
    stores (keys of EXTRA_STORES)."""
    out = []
    for index in range(count):
        template = _TEMPLATES[PLATFORM_CYCLE[index % 3]]
        lap = index // 3
        profile = template if lap == 0 else replace(
            template, id=f"{template.id}_{lap + 1}", name=f"{template.name} {lap + 1}",
            recipients={role: [a.replace("@", f"+{lap + 1}@") for a in addresses]
                        for role, addresses in template.recipients.items()})
        out.append(profile)
    out += [EXTRA_STORES[key] for key in extra]
    if orders_per_day is not None:
        out = [replace(profile, base_orders=float(orders_per_day)) for profile in out]
    return out


def stores_yml(stores: list[StoreProfile], end_date: date, hero_skus: dict[str, list[str]] | None = None, *,
               volumes: dict[str, tuple[float, float]] | None = None, days: int = 60) -> str:
    doc = {
        "defaults": {
            "timezone": "UTC",
            "thresholds": dict(DEFAULT_THRESHOLDS),
            "promo_days": list(DEFAULT_PROMO_DAYS),
            "recipients": DEFAULT_RECIPIENTS,
        },
        "stores": [_store_entry(s, end_date, (hero_skus or {}).get(s.id, [])) for s in stores],
    }
    if volumes:
        for store, entry in zip(stores, doc["stores"]):
            _plan(store, entry, end_date, days, volumes[store.id])
    head = ("# Demo store configuration written by `storekpi generate` (format: spec README, 'stores.yml').\n"
            "# All e-mail addresses use the reserved example.com domain.\n")
    return head + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=None, width=110)


def _store_entry(store: StoreProfile, end_date: date, hero_skus: list[str]) -> dict:
    entry = {"id": store.id, "name": store.name, "platform": store.platform, "timezone": store.timezone,
             "currency": store.currency, "thresholds": {"daily_orders_min": store.daily_orders_min}}
    # an upcoming promo day inside the 14-day promo horizon, so promo_readiness has something to check
    upcoming = (end_date + timedelta(days=UPCOMING_PROMO_IN_DAYS)).isoformat()
    entry["promo_days"] = [f"{end_date.year}-{d}" for d in store.store_promo_days] + [upcoming]
    if hero_skus:
        entry["hero_skus"] = list(hero_skus)
    if store.cash_on_delivery:
        entry["cash_on_delivery"] = True
    entry["recipients"] = store.recipients
    return entry


def _plan(store: StoreProfile, entry: dict, end_date: date, days: int, volume: tuple[float, float]) -> None:
    """targets.md: a phase change inside the demo period, a long-term goal and monthly targets per month."""
    change = end_date - timedelta(days=PHASE_CHANGE_DAYS_BEFORE_END)
    entry["thresholds"] = {"daily_orders_min": max(1, round(store.daily_orders_min * PLAN_EARLIER_FACTOR))}
    entry["targets"] = [{"from": change.isoformat(), "daily_orders_min": store.daily_orders_min}]
    entry["goals"] = {"daily_orders": max(1, round(store.base_orders * 2))}
    orders, visitors = volume
    behind = store.platform == BEHIND_STORE
    monthly = {}
    first = end_date - timedelta(days=days - 1)
    day = first if first.day == 1 else (first.replace(day=1) + timedelta(days=32)).replace(day=1)
    day = min(day, end_date.replace(day=1))  # months the period holds whole from their start, and D's month
    while day <= end_date:
        month = day.replace(day=1)
        days_in_month = ((month + timedelta(days=32)).replace(day=1) - month).days
        monthly[month.strftime("%Y-%m")] = {
            "orders": round(orders * days_in_month * (BEHIND_FACTOR if behind else MONTHLY_FACTOR)),
            "visitors": round(visitors * days_in_month * MONTHLY_FACTOR),
        }
        if store.platform == OVERRUN_STORE:  # the demo's campaigns buy about a tenth of the visitors as clicks
            from storekpi.generate.marketing import _CPC

            monthly[month.strftime("%Y-%m")]["ad_budget"] = round(
                visitors * 0.1 * _CPC.get(store.currency, 1.0) * days_in_month * OVERRUN_FACTOR)
        day = (month + timedelta(days=32)).replace(day=1)
    entry["monthly_targets"] = monthly
