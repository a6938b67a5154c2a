"""Taobao / Tmall seller-centre exports: the order report and line report pair (`ExportOrderList<stamp>.csv`,
`ExportOrderDetailList<stamp>.csv`, GB18030, CRLF, Excel-safe `="…"` order numbers, `￥1,299.00` money in the weekly
re-export), the 生意参谋 shop overview with title lines above the header, the review export (UTF-8 with a BOM, the
one that is not GBK), the inventory workbook (.xlsx) and a catalogue."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa

from storekpi.generate import files, people
from storekpi.generate.activity import PRELIMINARY_SHARE
from storekpi.generate.base import (REVIEW_WINDOW, TRAFFIC_WINDOW, WEEKLY_WINDOW, ExportFile, Store, assign_cases,
                                    busiest_days, day_range_seconds, products_file, set_cell, victims, visible,
                                    weekly_days)
from storekpi.generate.orders import DAY
from storekpi.generate.text import (NO_TIME, blank_where, choose, constant, csv_bytes, integers, join, money, pick,
                                    text, timestamps)

ENCODING = "gb18030"
FIRST_ORDER_NUMBER = 3_871_024_500_000_000_000
_STATUS = ["等待买家付款", "交易关闭", "买家已付款，等待卖家发货", "卖家已发货，等待买家确认", "交易成功"]
_BAD_CELLS = {  # case -> (file, column, value)
    "negative_quantity": ("detail", "购买数量", "-1"),
    "non_integer_quantity": ("detail", "购买数量", "1.5"),
    "unparseable_date": ("orders", "订单付款时间", "0000-00-00 00:00:00"),
    "unparseable_amount": ("orders", "买家实际支付金额", "#VALUE!"),
}
_POSITIVE = ["质量很好，和描述一致", "物流很快，包装严实", "第二次购买了，一如既往的好", "面料舒服，推荐", "此用户没有填写评价。"]
_NEGATIVE = ["有色差，和图片不一样", "快递太慢了", "做工一般，有线头"]


def exports(store: Store) -> list[ExportFile]:
    weekly = weekly_days(store.days)
    cases = assign_cases(weekly[::-1] or busiest_days(store, 4))
    buyers = _paying_buyers(store)
    xlsx_days = {0, *weekly}
    out = []
    for day in range(store.days):
        nightly = store.book.orders_created(day, day)
        out += _order_files(store, day, nightly, store.nightly_at(day), weekly=False,
                            cases=cases.get(day, []) if not weekly else [])
        if day in weekly:
            window = store.book.orders_created(max(0, day - WEEKLY_WINDOW + 1), day)
            out += _order_files(store, day, window, store.weekly_at(day), weekly=True, cases=cases.get(day, []))
        out.append(_traffic_file(store, day, buyers))
        out.append(_reviews_file(store, day))
        out.append(_stock_file(store, day, as_xlsx=day in xlsx_days))
        if day in (0, store.book.reprice_day):
            out.append(products_file(store, day))
    return out


def order_numbers(orders: np.ndarray) -> pa.Array:
    return integers(FIRST_ORDER_NUMBER + orders * 104_729)


def _status(store: Store, orders: np.ndarray, at: int) -> np.ndarray:
    book = store.book
    paid = visible(book.paid[orders], at)
    closed = ~paid & visible(book.cancelled[orders], at)
    refunded_fully = visible(book.refunded_at[orders], at) & (book.refund[orders] >= book.total[orders])
    return np.select([~paid & ~closed, closed | refunded_fully, ~visible(book.shipped[orders], at),
                      ~visible(book.completed[orders], at)], [0, 1, 2, 3], 4)


def _order_files(store: Store, day: int, orders: np.ndarray, at: int, *, weekly: bool,
                 cases: list[str]) -> list[ExportFile]:
    book, cat = store.book, store.catalogue
    n = len(orders)
    who = people.person(book.customer[orders], orders)
    paid = visible(book.paid[orders], at)
    refunded = visible(book.refunded_at[orders], at)
    shipped = visible(book.shipped[orders], at)
    status = _status(store, orders, at)
    number = join('="', order_numbers(orders), '"')

    def amount(cents: np.ndarray) -> pa.Array:  # the weekly report writes money the way the web page shows it
        return money(cents, thousands=True, prefix="￥") if weekly else money(cents)

    units = np.add.reduceat(book.qty, book.first_line)[orders] if n else np.zeros(0, np.int64)
    first_sku = book.sku[book.first_line[orders]]
    order_columns = {
        "订单编号": number,
        "买家会员名": people.nicknames(who),
        "买家支付宝账号": people.masked_mobiles(who + 17),
        "买家应付货款": amount(book.net[orders]),
        "买家应付邮费": amount(book.shipping[orders]),
        "买家支付积分": integers(np.zeros(n, np.int64)),
        "总金额": amount(book.total[orders]),
        "返点积分": integers(np.zeros(n, np.int64)),
        "买家实际支付金额": amount(np.where(paid, book.total[orders], 0)),
        "订单状态": pick(_STATUS, status),
        "买家留言": blank_where(constant("请尽快发货，谢谢", n), who % 9 != 0),
        "收货人姓名": people.chinese_names(who),
        "收货地址": people.chinese_addresses(who),
        "运送方式": constant("快递", n),
        "联系手机": people.masked_mobiles(who),
        "订单创建时间": timestamps(book.created[orders]),
        "订单付款时间": timestamps(np.where(paid, book.paid[orders], NO_TIME)),
        "宝贝标题": pick(cat.title, first_sku),
        "宝贝种类": integers(book.n_lines[orders]),
        "物流单号": blank_where(join("SF", integers(1_402_889_000_000 + orders * 31)), ~shipped),
        "物流公司": blank_where(constant("顺丰速运", n), ~shipped),
        "宝贝总数量": integers(units),
        "店铺名称": constant(store.profile.name, n),
        "订单关闭原因": pick([None, "买家未付款", "退款"], np.select([status != 1, ~paid], [0, 1], 2)),
        "退款金额": amount(np.where(refunded, book.refund[orders], 0)),
    }
    lines = book.lines_of(orders)
    o = book.line_order[lines]
    sku = book.sku[lines]
    line_number = order_numbers(o)
    detail_columns = {
        # the line report writes the number with a trailing tab in the weekly re-export, Excel-safe otherwise
        "订单编号": join(line_number, "\t") if weekly else join('="', line_number, '"'),
        "标题": pick(cat.title, sku),
        "价格": money(book.price[lines]),
        "购买数量": integers(book.qty[lines]),
        "外部系统编号": constant(None, len(lines)),
        "商品属性": join("规格：", pick(cat.variant, sku)),
        "套餐信息": constant(None, len(lines)),
        "备注": constant(None, len(lines)),
        "订单状态": pick(_STATUS, _status(store, o, at)),
        "商家编码": pick(cat.sku, sku),
    }
    line_of_order = np.cumsum(np.r_[0, book.n_lines[orders][:-1]])
    for case, position in zip(cases, victims(store, orders, at, len(cases))):
        target, column, value = _BAD_CELLS[case]
        if target == "orders":
            set_cell(order_columns, column, int(position), value)
        else:
            set_cell(detail_columns, column, int(line_of_order[position]), value)
    stamp = (datetime(1970, 1, 1) + timedelta(seconds=int(at))).strftime("%Y%m%d%H%M")
    folder = store.date(day)
    return [
        ExportFile("orders", folder, f"ExportOrderList{stamp}.csv", _gbk(order_columns, raw=("订单编号",)), n,
                   tuple(c for c in cases if _BAD_CELLS[c][0] == "orders")),
        ExportFile("orders", folder, f"ExportOrderDetailList{stamp}.csv", _gbk(detail_columns, raw=("订单编号",)),
                   len(lines), tuple(c for c in cases if _BAD_CELLS[c][0] == "detail")),
    ]


def _gbk(columns: dict[str, pa.Array], *, raw=(), title_lines=()) -> bytes:
    return files.encode(csv_bytes(columns, raw=raw, eol="\r\n", title_lines=title_lines), ENCODING)


def _traffic_file(store: Store, day: int, paying_buyers: np.ndarray) -> ExportFile:
    first = max(0, day - TRAFFIC_WINDOW + 1)
    days = np.arange(first, day + 1)
    settling = np.where(days == day, PRELIMINARY_SHARE, 1.0)
    visitors = np.round(store.plan.visitors[days] * settling).astype(np.int64)
    pageviews = np.round(store.plan.pageviews[days] * settling).astype(np.int64)
    buyers = paying_buyers[days]
    compact = day >= store.days // 2  # 生意参谋 switched its date format mid-period
    dates = [store.date(int(d)).strftime("%Y%m%d" if compact else "%Y-%m-%d") for d in days]
    columns = {
        "统计日期": text(dates),
        "访客数": integers(visitors, thousands=True),
        "浏览量": integers(pageviews, thousands=True),
        "支付买家数": integers(buyers, thousands=True),
        "支付转化率": join(money(np.round(buyers / np.maximum(visitors, 1) * 10_000).astype(np.int64)), "%"),
    }
    titles = (f"{store.profile.name} 店铺概况", f"统计时间：{store.date(first)} ~ {store.date(day)}")
    name = f"shop_overview_{store.date(first):%Y%m%d}_{store.date(day):%Y%m%d}.csv"
    return ExportFile("traffic", store.date(day), name, _gbk(columns, title_lines=titles), len(days))


def _paying_buyers(store: Store) -> np.ndarray:
    book = store.book
    paid = book.paid != NO_TIME
    paid_day = (book.paid[paid] - book.day_start(0)) // DAY
    pairs = np.unique(np.column_stack([paid_day, book.customer[paid]]), axis=0)
    return np.bincount(pairs[:, 0][pairs[:, 0] < store.days], minlength=store.days)


def _reviews_file(store: Store, day: int) -> ExportFile:
    lo, hi = day_range_seconds(store, max(0, day - REVIEW_WINDOW + 1), day)
    rv, book = store.reviews, store.book
    rows = np.flatnonzero((rv.at >= lo) & (rv.at < hi))
    order = rv.order[rows]
    rating = rv.rating[rows]
    phrase = rv.phrase[rows]
    columns = {
        "评价时间": timestamps(rv.at[rows]),
        "评价结果": pick(["差评", "中评", "好评"], np.searchsorted([1, 3, 5], rating)),
        "评价内容": choose(rating >= 4, pick(_POSITIVE, phrase % len(_POSITIVE)),
                          pick(_NEGATIVE, phrase % len(_NEGATIVE))),
        "宝贝标题": pick(store.catalogue.title, rv.sku[rows]),
        "订单编号": join('="', order_numbers(order), '"'),
        "评价人": people.nicknames(people.person(book.customer[order], order)),
    }
    data = files.encode(csv_bytes(columns, raw=("订单编号",), eol="\r\n"), "utf-8-sig")
    return ExportFile("reviews", store.date(day), f"rate_export_{store.date(day):%Y%m%d}.csv", data, len(rows))


def _stock_file(store: Store, day: int, *, as_xlsx: bool) -> ExportFile:
    """Daily GB18030 CSV; the weekly full inventory is downloaded as a workbook."""
    cat = store.catalogue
    skus = np.flatnonzero(cat.stocked)
    stock_header = "可售库存" if day >= store.days // 2 else "库存"  # header renamed by a seller-centre update
    columns = {"商品ID": integers(688_000_000_000 + skus * 7919), "商家编码": pick(cat.sku, skus),
               "商品名称": join(pick(cat.title, skus), pick(cat.variant, skus), sep=" "),
               "价格": money(cat.list_cents[skus]), stock_header: integers(store.stock[day, skus])}
    name = f"inventory_{store.date(day):%Y%m%d}"
    if not as_xlsx:
        return ExportFile("stock", store.date(day), name + ".csv", _gbk(columns), len(skus))
    rows = [[str(688_000_000_000 + int(s) * 7919), cat.sku[s], f"{cat.title[s]} {cat.variant[s]}",
             float(cat.list_cents[s]) / 100, int(store.stock[day, s])] for s in skus]  # one row per SKU: small
    data = files.xlsx(list(columns), rows, sheet="宝贝库存")
    return ExportFile("stock", store.date(day), name + ".xlsx", data, len(rows))

