"""Everything around the orders: daily traffic (which drives the order counts), reviews and stock levels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from storekpi.generate.catalogue import Catalogue
from storekpi.generate.orders import DAY, OrderBook
from storekpi.generate.stores import StoreProfile
from storekpi.generate.text import NO_TIME

PRELIMINARY_SHARE = 0.97  # the newest day of a traffic export is still settling: later exports report more


@dataclass(frozen=True)
class DailyPlan:
    dates: list[date]
    promo: np.ndarray  # bool per day
    visitors: np.ndarray
    sessions: np.ndarray
    pageviews: np.ndarray
    created_orders: np.ndarray  # orders created per day, unpaid ones included


@dataclass(frozen=True)
class Reviews:
    order: np.ndarray
    at: np.ndarray  # local seconds
    rating: np.ndarray  # 1..5
    sku: np.ndarray
    phrase: np.ndarray  # index into the platform's phrase list for this rating class


def promo_mask(dates: list[date], rules: tuple[str, ...]) -> np.ndarray:
    return np.array([d.isoformat() in rules or d.strftime("%m-%d") in rules for d in dates])


def daily_plan(profile: StoreProfile, end_date: date, days: int, promo_rules: tuple[str, ...],
               rng: np.random.Generator, unpaid_share: float) -> DailyPlan:
    """Visitors follow the weekday pattern and spike on promo days; conversion jumps on promo days and dips in
    the days before one (shoppers wait). The last day carries the store's deliberate quirks, without noise, so
    its alerts are stable across seeds."""
    dates = [end_date - timedelta(days=days - 1 - i) for i in range(days)]
    promo = promo_mask(dates, promo_rules)
    singles_day = np.array([d.month == 11 and d.day == 11 for d in dates])  # the biggest promo day of all
    promo_traffic = np.where(singles_day, 3.2, np.where(promo, 2.2, 1.0))
    weekday = np.array([profile.weekday[d.weekday()] for d in dates])
    before_promo = np.zeros(days, bool)
    for shift in (1, 2, 3):
        before_promo[:-shift] |= promo[shift:]
    base_visitors = profile.base_orders / profile.conversion
    visitors = base_visitors * weekday * promo_traffic * rng.lognormal(0, 0.06, days)
    conversion = (profile.conversion * np.where(promo, 2.2, 1.0) * np.where(before_promo & ~promo, 0.85, 1.0)
                  * rng.lognormal(0, 0.08, days))
    visitors[-1] = base_visitors * weekday[-1] * profile.last_day_traffic * promo_traffic[-1]
    conversion[-1] = profile.conversion * profile.last_day_conversion
    visitors = np.maximum(np.round(visitors), 1).astype(np.int64)
    expected_created = visitors * conversion / (1 - unpaid_share)
    created = rng.poisson(expected_created)
    created[-1] = round(expected_created[-1])
    sessions = np.round(visitors * rng.uniform(1.2, 1.35, days)).astype(np.int64)
    pageviews = np.round(sessions * rng.uniform(2.6, 3.8, days)).astype(np.int64)
    return DailyPlan(dates, promo, visitors, sessions, pageviews, created)


def reviews(book: OrderBook, profile: StoreProfile, rng: np.random.Generator) -> Reviews:
    """Known customers review some paid, not fully refunded orders 3-15 days after paying; negative ratings at the
    store's rate (Taobao knows only 好评/中评/差评 = 5/3/1)."""
    n = len(book)
    fully_refunded = (book.refunded_at != NO_TIME) & (book.refund >= book.total)
    eligible = (book.paid != NO_TIME) & (book.customer >= 0) & ~fully_refunded
    chosen = eligible & (rng.random(n) < profile.review_share)
    at = book.paid + rng.integers(3 * DAY, 15 * DAY, n)
    chosen &= at < book.day_start(book.days)
    order = np.flatnonzero(chosen)
    order = order[np.argsort(at[order], kind="stable")]
    negative = rng.random(len(order)) < profile.negative_review_share
    if profile.platform == "taobao":
        rating = np.where(negative, np.where(rng.random(len(order)) < 0.6, 3, 1), 5)
    else:
        rating = np.where(negative, rng.choice([1, 2, 3], len(order), p=[0.3, 0.2, 0.5]),
                          np.where(rng.random(len(order)) < 0.82, 5, 4))
    return Reviews(order=order, at=at[order], rating=rating, sku=book.sku[book.first_line[order]],
                   phrase=rng.integers(0, 1 << 30, len(order)))


def stock_levels(book: OrderBook, catalogue: Catalogue, rng: np.random.Generator) -> np.ndarray:
    """On hand at the end of each day (days x SKUs). Ordinary SKUs are replenished when cover falls under ~10
    days (the best-selling hero under 45 units); the low-cover SKU never is and ends with ~4 days of cover
(at most 20 units, under the hero minimum); the stockout SKU starts with exactly what
    it will sell; dormant SKUs just sit there."""
    days, skus = book.days, len(catalogue)
    paid_day = (book.paid - book.day_start(0)) // DAY
    line_paid_day = paid_day[book.line_order]
    counted = (book.paid[book.line_order] != NO_TIME) & (line_paid_day < days)
    sold = np.zeros((days, skus), np.int64)
    np.add.at(sold, (line_paid_day[counted], book.sku[counted]), book.qty[counted])
    daily = np.maximum(sold.mean(axis=0), 0.2)
    on_hand = np.round(daily * rng.uniform(25, 40, skus)).astype(np.int64) + 5
    dormant = catalogue.weight == 0
    on_hand[dormant] = rng.integers(8, 60, dormant.sum())
    low = catalogue.low_cover_sku
    on_hand[low] = sold[:, low].sum() + max(1, min(round(4 * daily[low]), 20))  # a hero under its minimum of 30
    on_hand[catalogue.stockout_sku] = sold[:, catalogue.stockout_sku].sum()
    steady = ~dormant
    steady[[catalogue.low_cover_sku, catalogue.stockout_sku]] = False
    floor = np.zeros(skus)
    floor[list(catalogue.hero_skus[:1])] = 45  # the best-selling hero is kept above its minimum of 30
    levels = np.empty((days, skus), np.int64)
    for d in range(days):  # one step per day over all SKUs
        on_hand = on_hand - sold[d]
        reorder = steady & (on_hand < np.maximum(daily * 12, floor))
        refill = np.maximum(np.round(daily * rng.uniform(30, 45, skus)), floor * 1.5).astype(np.int64)
        on_hand = np.where(reorder, refill, on_hand)
        levels[d] = np.maximum(on_hand, 0)
    return levels
