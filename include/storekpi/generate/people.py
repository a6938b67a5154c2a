"""Fake but realistic personal data, so the pipeline's PII removal has something to remove. Every e-mail uses the
reserved example.com domain, phone numbers are in fictional ranges (US 555-01xx) or masked the way Taobao masks them.
Derived from a person's index, vectorised: the same customer has the same e-mail and nickname in every file."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from storekpi.generate.text import integers, join, pick

_FIRST = ["Emma", "Liam", "Olivia", "Noah", "Ava", "Elijah", "Sophia", "Lucas", "Mia", "Mason", "Amelia", "Ethan",
          "Harper", "Logan", "Ella", "James", "Aria", "Henry", "Chloe", "Jack", "Lena", "Jonas", "Marie", "Felix"]
_LAST = ["Smith", "Johnson", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Lopez", "Wilson", "Anderson",
         "Thomas", "Moore", "Jackson", "Martin", "Lee", "Walker", "Müller", "Schmidt", "Becker", "Hoffmann"]
_STREETS = ["Maple Ave", "Oak St", "Pine Rd", "Cedar Ln", "Elm St", "Lakeview Dr", "Hillside Ave", "Park Pl",
            "Hauptstraße", "Lindenweg", "Gartenstraße", "Bahnhofstraße"]
_CITIES = ["Springfield", "Riverton", "Fairview", "Greenville", "Madison", "Clinton", "Berlin", "Hamburg", "Köln"]
_NICKS = ["小鹿乱撞", "tb_", "爱吃鱼的猫", "momo", "sunny_", "橘子汽水", "阿飞", "lucky", "晴天", "jane_", "木子李", "ccc"]
_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
_GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超"]
_CN_ADDRESSES = ["浙江省 杭州市 西湖区 文三路", "上海 上海市 浦东新区 张杨路", "广东省 深圳市 南山区 科技园路",
                 "北京 北京市 朝阳区 建国路", "江苏省 南京市 鼓楼区 中山北路", "四川省 成都市 武侯区 人民南路"]


def person(customer: np.ndarray, order: np.ndarray) -> np.ndarray:
    """A stable person index per order: the customer, or for a guest an identity of its own."""
    return np.where(customer >= 0, customer, 10_000_000 + order)


def names(who: np.ndarray) -> pa.Array:
    return join(pick(_FIRST, who % len(_FIRST)), pick(_LAST, who // len(_FIRST) % len(_LAST)), sep=" ")


def emails(who: np.ndarray) -> pa.Array:
    first = pick([f.lower() for f in _FIRST], who % len(_FIRST))
    last = pick([_ascii(s.lower()) for s in _LAST], who // len(_FIRST) % len(_LAST))
    return join(first, ".", last, integers(who % 10_000), "@example.com")


def streets(who: np.ndarray) -> pa.Array:
    return join(integers(who % 890 + 10), pick(_STREETS, who % len(_STREETS)), sep=" ")


def cities(who: np.ndarray) -> pa.Array:
    return pick(_CITIES, who // 7 % len(_CITIES))


def zips(who: np.ndarray) -> pa.Array:
    return integers(who * 37 % 90_000 + 10_000)


def us_phones(who: np.ndarray) -> pa.Array:
    return join("+1 555-01", pick([f"{i:02d}" for i in range(100)], who % 100))


def nicknames(who: np.ndarray) -> pa.Array:
    """Taobao 买家会员名."""
    return join(pick(_NICKS, who % len(_NICKS)), integers(who * 7919 % 100_000))


def chinese_names(who: np.ndarray) -> pa.Array:
    return join(pick(_SURNAMES, who % len(_SURNAMES)), pick(_GIVEN, who // 3 % len(_GIVEN)))


def chinese_addresses(who: np.ndarray) -> pa.Array:
    return join(pick(_CN_ADDRESSES, who % len(_CN_ADDRESSES)), integers(who % 300 + 1), "号 ",
                integers(who % 20 + 1), "栋", integers(who % 6 + 1), "0", integers(who % 9 + 1), "室")


def masked_mobiles(who: np.ndarray) -> pa.Array:
    return join(pick(["138", "139", "186", "151", "177"], who % 5), "****",
                pc.utf8_lpad(integers(who * 7 % 10_000), 4, "0"))


def _ascii(name: str) -> str:
    return name.replace("ü", "ue").replace("ö", "oe").replace("ä", "ae")
