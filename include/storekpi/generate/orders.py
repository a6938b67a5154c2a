"""The order book: every order's life (created, paid, shipped, refunded, cancelled) and its lines, simulated
vectorised with numpy so a million lines take seconds. Platform writers render it as of an export time.

Times are store-local wall-clock seconds since 1970 (`NO_TIME` = never happened). The book is platform-neutral;
the messy cases that belong to the people and the shop (guests, unpaid orders, refunds, late payments, payments
around midnight, cross-border currency, deep discounts) are decided here, the ones that belong to files in `messy.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from storekpi.generate.catalogue import Catalogue
from storekpi.generate.text import NO_TIME

DAY = 86_400
HOUR = 3_600
EPOCH = date(1970, 1, 1)
LINES_PER_ORDER = np.array([0.72, 0.20, 0.06, 0.02])  # mean 1.38 lines per order
_HOURS = np.array([2, 1, .6, .4, .3, .4, .8, 1.5, 2.5, 3.5, 4, 4, 4.2, 4, 3.8, 3.8, 4, 4.3, 4.8, 5.5, 6.5, 7, 6, 4])
_HOURS_TAOBAO = _HOURS * np.r_[np.ones(20), 1.2, 1.5, 1.6, 1.3]  # the 21-24 h peak of Chinese mobile shopping


@dataclass(frozen=True)
class Policy:
    """What differs between shops: who buys, how they are charged."""

    platform: str
    start: date
    promo: np.ndarray  # bool per day index
    guest_share: float = 0.0
    unpaid_share: float = 0.06
    promo_discount: float = 0.3
    tax_rate: float = 0.0
    free_shipping_from: int | None = 5000  # cents; None: shipping charged at random (Taobao)
    shipping_cents: int = 599
    foreign_orders: int = 0  # cross-border orders in another currency
    specials: bool = True  # midnight payments, discount-floor violations, guaranteed rare cases
    prices_include_tax: bool = False  # VAT shops: prices and shipping include tax_rate; Total = Subtotal + Shipping
    cod_share: float = 0.0  # paid orders settled cash on delivery: paid when fulfilled, never in 'Paid at'


@dataclass
class OrderBook:
    start: date
    days: int
    reprice_day: int  # the repriced SKU costs 10 % more from this day index on
    # order grain, in created order (index = order number - first number)
    day: np.ndarray  # created local day index
    created: np.ndarray
    paid: np.ndarray
    shipped: np.ndarray
    completed: np.ndarray  # Taobao: buyer confirmed receipt (交易成功)
    cancelled: np.ndarray
    refunded_at: np.ndarray
    refund: np.ndarray  # cents, refunded at refunded_at
    customer: np.ndarray  # -1 = guest
    foreign: np.ndarray  # paid in another currency than the store's
    special: np.ndarray  # hand-placed case (midnight, violation, foreign): messy.py leaves it alone
    gross: np.ndarray
    discount: np.ndarray
    shipping: np.ndarray
    tax: np.ndarray
    first_line: np.ndarray
    n_lines: np.ndarray
    # line grain, grouped by order
    line_order: np.ndarray
    line_no: np.ndarray  # 1-based
    sku: np.ndarray
    qty: np.ndarray
    price: np.ndarray  # cents per unit actually charged before order discounts
    list_price: np.ndarray  # cents, list price in force on the order's day
    compare_at: np.ndarray  # cents, 0 = none (Shopify 'Lineitem compare at price')
    # the real-export options (`storekpi generate --vat-store …`); the defaults leave the book as it always was
    tax_included: bool = False  # `tax` is inside gross and shipping (a VAT shop), not added to the total
    tax_rate: float = 0.0
    cod: np.ndarray | None = None  # bool per order: cash on delivery, `paid` is the fulfilment time
    tip: np.ndarray | None = None  # cents per order: a Shopify tip line (in Total, not merchandise)
    ship_discount: np.ndarray | None = None  # cents per order: a free-shipping code's waived shipping fee

    @property
    def net(self) -> np.ndarray:
        return self.gross - self.discount

    @property
    def total(self) -> np.ndarray:
        total = self.net + self.shipping + (0 if self.tax_included else self.tax)
        return total if self.tip is None else total + self.tip

    def extra(self, name: str) -> np.ndarray:
        """An optional per-order array, zeros (False) when the book has none."""
        values = getattr(self, name)
        return np.zeros(len(self), bool if name == "cod" else np.int64) if values is None else values

    def __len__(self) -> int:
        return len(self.created)

    def day_start(self, day: int | np.ndarray) -> int | np.ndarray:
        return ((self.start - EPOCH).days + day) * DAY

    def orders_created(self, first_day: int, last_day: int) -> np.ndarray:
        """Indices of the orders created on days first_day..last_day (inclusive)."""
        lo, hi = np.searchsorted(self.day, [first_day, last_day + 1])
        return np.arange(lo, hi)

    def lines_of(self, orders: np.ndarray) -> np.ndarray:
        """Line indices of these orders, in order."""
        counts = self.n_lines[orders]
        starts = np.repeat(self.first_line[orders] - np.r_[0, np.cumsum(counts)[:-1]], counts)
        return starts + np.arange(counts.sum())


def list_price(catalogue: Catalogue, sku: np.ndarray, day: np.ndarray, reprice_day: int) -> np.ndarray:
    base = catalogue.list_cents[sku]
    raised = (np.round(base * 1.1 / 100) * 100).astype(np.int64)
    return np.where((sku == catalogue.repriced_sku) & (day >= reprice_day), raised, base)


def simulate(rng: np.random.Generator, catalogue: Catalogue, counts: np.ndarray, policy: Policy,
             *, total_lines: int | None = None) -> OrderBook:
    """Orders created per day = counts; with total_lines, the book is cut to exactly that many lines."""
    days = len(counts)
    base = (policy.start - EPOCH).days * DAY
    day = np.repeat(np.arange(days), counts)
    n = len(day)
    hours = _HOURS_TAOBAO if policy.platform == "taobao" else _HOURS
    created = base + day * DAY + rng.choice(24, n, p=hours / hours.sum()) * HOUR + rng.integers(0, HOUR, n)
    pay_delay = (20 + rng.exponential(110, n)).astype(np.int64)
    late = rng.random(n) < 0.02  # bank transfer / pay later: paid hours after the order
    pay_delay[late] = rng.integers(6 * HOUR, 30 * HOUR, late.sum())
    unpaid = rng.random(n) < policy.unpaid_share
    special = np.zeros(n, bool)
    if policy.specials:
        _place_midnight_payments(rng, day, days, created, pay_delay, unpaid, late, special, base)
    order = np.argsort(created, kind="stable")
    day, created, pay_delay, unpaid, late, special = (
        a[order] for a in (day, created, pay_delay, unpaid, late, special))

    n_lines = rng.choice(4, n, p=LINES_PER_ORDER) + 1
    n_lines[special] = 1
    if total_lines is not None:
        ends = np.cumsum(n_lines)
        if ends[-1] < total_lines:
            raise ValueError("not enough orders simulated for the requested lines")
        keep = int(np.searchsorted(ends, total_lines)) + 1
        n_lines[keep - 1] -= ends[keep - 1] - total_lines
        day, created, pay_delay, unpaid, late, special, n_lines = (
            a[:keep] for a in (day, created, pay_delay, unpaid, late, special, n_lines))
        n = keep

    paid = np.where(unpaid, NO_TIME, created + pay_delay)
    closes = unpaid & (rng.random(n) < 0.7)  # unpaid orders are closed after a day (Taobao) or voided
    cancelled = np.where(closes, created + DAY + rng.integers(0, HOUR, n), NO_TIME)

    guest = rng.random(n) < policy.guest_share
    pool = max(30, int(n * 0.55))
    loyalty = 1.0 / (np.arange(pool) + 8.0) ** 0.75
    customer = np.where(guest, -1, rng.choice(pool, n, p=loyalty / loyalty.sum()))
    _lapse(customer, day, pool, days)

    first_line = np.cumsum(n_lines) - n_lines
    line_order = np.repeat(np.arange(n), n_lines)
    line_no = np.arange(n_lines.sum()) - first_line[line_order] + 1
    sku = _pick_skus(rng, catalogue, day, days, line_order, line_no)
    line_day = day[line_order]
    reprice_day = days // 2
    listed = list_price(catalogue, sku, line_day, reprice_day)
    sale = catalogue.on_sale[sku]
    price = np.where(sale, (np.round(listed * 0.85 / 10) * 10).astype(np.int64), listed)
    compare_at = np.where(sale, listed, 0)
    qty = rng.choice(3, len(sku), p=[0.86, 0.11, 0.03]) + 1
    gross = np.add.reduceat(qty * price, first_line)

    promo = policy.promo[day]
    r = rng.random(n)
    rate = np.where(promo, np.where(r < 0.7, policy.promo_discount, 0.0), np.where(r < 0.15, 0.10, 0.0))
    foreign = np.zeros(n, bool)
    if policy.specials:
        eligible = ~unpaid & ~late & ~special & (n_lines == 1) & ~promo
        same_day = (created - base) % DAY < 22 * HOUR
        violations = _choose(rng, eligible & same_day & (day == days - 1), 1)
        violations = np.r_[violations, _choose(rng, eligible & same_day & (day < days - 1), 2)]
        rate[violations] = 0.4  # a staff code used on a normal day: price ratio 0.6 < the 0.70 floor
        special[violations] = True
        if policy.foreign_orders:
            per_day = np.bincount(day, minlength=days)
            per_day[-1] = -1  # keep the last day's KPIs clean
            plain = ~unpaid & ~late & (n_lines == 1)
            for d in np.argsort(-per_day, kind="stable")[: policy.foreign_orders]:
                chosen = _choose(rng, plain & (day == d) & ~special, 1)
                foreign[chosen] = special[chosen] = True
    discount = np.round(gross * rate).astype(np.int64)
    net = gross - discount
    if policy.free_shipping_from is None:
        shipping = np.where(rng.random(n) < 0.1, 800, 0)
    else:
        shipping = np.where(net >= policy.free_shipping_from, 0, policy.shipping_cents)
    if policy.prices_include_tax:  # the tax inside prices and shipping
        tax = vat_inside(net + shipping, policy.tax_rate)
        total = net + shipping
    else:
        tax = np.round(net * policy.tax_rate).astype(np.int64)
        total = net + shipping + tax

    is_paid = paid != NO_TIME
    shipped = np.where(is_paid, paid + rng.integers(12 * HOUR, 40 * HOUR, n), NO_TIME)
    completed = np.where(is_paid, shipped + rng.integers(5 * DAY, 10 * DAY, n), NO_TIME)
    cod = None
    if policy.cod_share:  # the cash changes hands at the door: the order is paid when it is fulfilled
        cod = is_paid & ~special & (rng.random(n) < policy.cod_share)
        paid[cod] = shipped[cod]
    refundable = is_paid & ~special & (True if cod is None else ~cod)
    r = rng.random(n)
    cancel_paid = refundable & (r < 0.012)
    full_later = refundable & (r >= 0.012) & (r < 0.03)
    partial = refundable & (r >= 0.03) & (r < 0.05) & (n_lines > 1)
    if policy.specials:  # every case at least once, even in a tiny book, early enough to be re-exported
        early = refundable & (day < days - 10)
        for mask in (cancel_paid, full_later):
            _ensure(rng, mask, early & ~cancel_paid & ~full_later & ~partial)
        _ensure(rng, partial, early & ~cancel_paid & ~full_later & (n_lines > 1))
        _ensure_repeat_customer(rng, customer, day, is_paid & ~special)
    refunded_at = np.full(n, NO_TIME)
    refunded_at[cancel_paid] = paid[cancel_paid] + rng.integers(HOUR, 10 * HOUR, cancel_paid.sum())
    cancelled[cancel_paid] = refunded_at[cancel_paid]
    shipped[cancel_paid] = completed[cancel_paid] = NO_TIME
    refunded_at[full_later] = shipped[full_later] + rng.integers(3 * DAY, 12 * DAY, full_later.sum())
    refunded_at[partial] = shipped[partial] + rng.integers(3 * DAY, 10 * DAY, partial.sum())
    refund = np.zeros(n, np.int64)
    refund[cancel_paid | full_later] = total[cancel_paid | full_later]
    first_value = (qty * price)[first_line]
    refund[partial] = np.minimum(first_value, net)[partial]

    return OrderBook(
        start=policy.start, days=days, reprice_day=reprice_day, day=day, created=created, paid=paid,
        shipped=shipped, completed=completed, cancelled=cancelled, refunded_at=refunded_at, refund=refund,
        customer=customer, foreign=foreign, special=special, gross=gross, discount=discount, shipping=shipping,
        tax=tax, first_line=first_line, n_lines=n_lines, line_order=line_order, line_no=line_no, sku=sku, qty=qty,
        price=price, list_price=listed, compare_at=compare_at, tax_included=policy.prices_include_tax,
        tax_rate=policy.tax_rate, cod=cod,
    )


def vat_inside(gross_cents: np.ndarray, rate: float) -> np.ndarray:
    """The tax contained in tax-inclusive amounts, to the cent."""
    return np.round(gross_cents * rate / (1 + rate)).astype(np.int64)


def add_tips(book: OrderBook, rng: np.random.Generator, share: float = 0.06) -> None:
    """Some paid orders get a tip line (Shopify's 'Tip', no SKU): in Total, not merchandise. Only orders that stay
    paid, and none of the hand-placed cases; tipped orders become hand-placed themselves (no bad cell lands on
    them)."""
    eligible = (book.paid != NO_TIME) & ~book.special & (book.refund == 0) & (book.cancelled == NO_TIME)
    chosen = eligible & (rng.random(len(book)) < share)
    book.tip = np.where(chosen, rng.choice([100, 200, 300, 500], len(book)), 0)
    book.special = book.special | chosen


def add_free_shipping_codes(book: OrderBook, rng: np.random.Generator, share: float = 0.3) -> None:
    """A share of the orders that pay shipping and have no merchandise discount use a free-shipping code instead:
    Shipping becomes 0.00 and the waived fee sits in Discount Amount (as Shopify exports it), so Subtotal and net
    sales do not move. Never on refunded orders (their refund included the shipping)."""
    eligible = (book.shipping > 0) & (book.discount == 0) & ~book.special & (book.refund == 0)
    chosen = eligible & (rng.random(len(book)) < share)
    book.ship_discount = np.where(chosen, book.shipping, 0)
    book.shipping = np.where(chosen, 0, book.shipping)
    if book.tax_included:  # the VAT on the waived shipping goes too
        book.tax = np.where(chosen, vat_inside(book.net, book.tax_rate), book.tax)


def _place_midnight_payments(rng, day, days, created, pay_delay, unpaid, late, special, base) -> None:
    """Two orders paid in the last minute of a day and two in the first seconds of the next one."""
    middle = np.flatnonzero((day > 0) & (day < days - 2) & ~unpaid)
    chosen = rng.choice(middle, min(4, len(middle)), replace=False) if len(middle) else []
    for k, i in enumerate(chosen):
        midnight = base + (day[i] + 1) * DAY
        if k < 2:  # created 23:57:xx, paid 23:59:5x
            created[i], pay_delay[i] = midnight - 150 - 7 * k, 140
        else:  # created 23:59:xx, paid 00:00:0x the next day
            created[i], pay_delay[i] = midnight - 40 - 5 * k, 45 + 4 * k
        late[i] = False
        special[i] = True


def _pick_skus(rng, catalogue: Catalogue, day, days, line_order, line_no) -> np.ndarray:
    """Distinct SKUs within an order, drawn by popularity (Gumbel top-k), none of the stockout SKU in its
    last days, none of the dormant ones ever."""
    weights = np.tile(catalogue.weight, (days, 1))
    if days >= 10:
        weights[days - 4:, catalogue.stockout_sku] = 0.0
    with np.errstate(divide="ignore"):
        log_w = np.log(weights).astype(np.float32)
    top = np.empty((len(day), 4), np.int64)
    for lo in range(0, len(day), 200_000):  # bounded memory for million-line books
        hi = min(lo + 200_000, len(day))
        u = rng.random((hi - lo, len(catalogue)), dtype=np.float32)
        keys = log_w[day[lo:hi]] - np.log(-np.log(np.clip(u, 1e-7, 1 - 1e-7)))
        top[lo:hi] = np.argpartition(-keys, 3, axis=1)[:, :4]
    return top[line_order, line_no - 1]


def _choose(rng, mask: np.ndarray, k: int) -> np.ndarray:
    candidates = np.flatnonzero(mask)
    return np.sort(rng.choice(candidates, min(k, len(candidates)), replace=False)) if len(candidates) else \
        np.array([], np.int64)


def _ensure(rng, mask: np.ndarray, eligible: np.ndarray) -> None:
    if not mask.any():
        mask[_choose(rng, eligible, 1)] = True


def _lapse(customer: np.ndarray, day: np.ndarray, pool: int, days: int) -> None:
    """Customer segments worth telling apart (customers.md): a third of the customers stop buying on a day of their
    own, so long histories hold lapsing and lapsed buyers beside the loyal regulars and the one-offs. Orders after
    a customer's lapse go to new one-off customers, so order volume is unchanged. A generator of its own, so the
    rest of the book draws the same numbers as before."""
    own = np.random.default_rng([pool, days, 16])
    lapse_day = np.where(own.random(pool) < 1 / 3, own.integers(0, days, pool), days)
    lapsed = (customer >= 0) & (day >= lapse_day[np.maximum(customer, 0)])
    customer[lapsed] = pool + np.flatnonzero(lapsed)


def _ensure_repeat_customer(rng, customer, day, eligible) -> None:
    """The same customer ordering again across months: force one pair if chance did not make one."""
    known = eligible & (customer >= 0)
    if known.sum() < 2 or day.max() < 35:
        return
    early, later = np.flatnonzero(known & (day < 20)), np.flatnonzero(known & (day > day.max() - 15))
    if not len(early) or not len(later) or len(np.intersect1d(customer[early], customer[later])):
        return
    customer[rng.choice(later)] = customer[rng.choice(early)]
