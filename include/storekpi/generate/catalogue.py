"""Per-platform demo catalogues, with the SKU roles that make the stock and discount marts interesting:
a dormant SKU (stock, never sold), a non-inventory SKU (sold, never in a stock export), one that runs out and one that
runs low before the last day, one repriced mid-period (its cost rises with it), and (Shopify) SKUs on sale with a
compare-at price. The best seller and the low-cover SKU are the store's two hero SKUs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# (product title, handle, [variants], list price, dormant); the last product is always the non-inventory one.
_PRODUCTS = {
    "shopify": [
        ("Linen Throw", "linen-throw", ["Sand", "Slate"], 8900, False),
        ("Stoneware Mug", "stoneware-mug", ["White", "Moss", "Clay"], 2400, False),
        ("Merino Wool Blanket", "merino-wool-blanket", ["Oat", "Charcoal"], 14900, False),
        ("Soy Candle", "soy-candle", ["Cedar", "Fig"], 3200, False),
        ("Organic Cotton Towel Set", "organic-cotton-towel-set", ["White", "Sage"], 5800, False),
        ("Ceramic Bud Vase", "ceramic-bud-vase", ["Sand"], 3800, False),
        ("Cast Iron Skillet", "cast-iron-skillet", ['10"'], 6500, False),
        ("Oak Serving Board", "oak-serving-board", ["Large"], 7200, False),
        ("Brass Table Lamp", "brass-table-lamp", ["Brass"], 12900, True),
        ("Coir Doormat", "coir-doormat", ["Natural"], 2800, True),
        ("Gift Wrapping", "gift-wrapping", ["Default Title"], 500, False),
    ],
    "taobao": [
        ("暖居 北欧纯棉四件套", "4jt", ["1.5m床 灰色", "1.8m床 灰色", "1.8m床 米白"], 39900, False),
        ("暖居 澳洲羊毛冬被", "ymb", ["200x230cm"], 89900, False),
        ("暖居 泰国天然乳胶枕", "rjz", ["标准款", "护颈款"], 19900, False),
        ("暖居 真丝眼罩", "yz", ["黑色"], 6900, False),
        ("暖居 珊瑚绒毛毯", "mt", ["150x200cm", "200x230cm"], 12900, False),
        ("暖居 A类全棉浴巾", "yj", ["白色", "灰色"], 7900, False),
        ("暖居 香薰蜡烛礼盒", "lz", ["雪松"], 15900, False),
        ("暖居 记忆棉床垫", "cd", ["1.8m"], 159900, False),
        ("暖居 白鹅绒羽绒枕", "yrz", ["单只装"], 45900, False),
        ("暖居 桑蚕丝被", "csb", ["200x230cm"], 129900, True),
        ("暖居 礼品包装", "lpbz", ["默认"], 1000, False),
    ],
    "generic": [
        ("Wolldecke Fjord", "wolldecke-fjord", ["Grau", "Natur"], 11900, False),
        ("Leinenbettwäsche", "leinenbettwaesche", ["135x200", "155x220"], 8990, False),
        ("Kerzenset Winter", "kerzenset-winter", ["3er Set"], 2490, False),
        ("Teekanne Keramik", "teekanne-keramik", ["1,2 l"], 3990, False),
        ("Kissenbezug Samt", "kissenbezug-samt", ["Rosé", "Petrol"], 1990, False),
        ("Handtuch Bio-Baumwolle", "handtuch-bio", ["Weiß"], 1490, False),
        ("Thermobecher", "thermobecher", ["Schwarz"], 2200, False),
        ("Holzschale Eiche", "holzschale-eiche", ["Groß"], 4900, False),
        ("Stehleuchte Bogen", "stehleuchte-bogen", ["Messing"], 14900, True),
        ("Geschenkverpackung", "geschenkverpackung", ["Standard"], 350, False),
    ],
}


@dataclass(frozen=True)
class Catalogue:
    sku: list[str]
    title: list[str]  # product title (Taobao 宝贝标题, Shopify product)
    variant: list[str]
    handle: list[str]
    list_cents: np.ndarray  # list price at the start of the period
    cost_cents: np.ndarray
    weight: np.ndarray  # relative popularity; 0 = dormant (stock but no sales)
    on_sale: np.ndarray  # Shopify: sold below a compare-at price
    stocked: np.ndarray  # False = non-inventory item: sold, never in a stock export
    stockout_sku: int  # runs out a few days before the last day
    low_cover_sku: int  # ends the period with a few days of cover
    repriced_sku: int  # list price +10 % from the mid-period catalogue export
    hero_skus: tuple[int, ...] = ()  # stores.yml hero_skus: the best seller, and the low-cover SKU (under 30)

    def __len__(self) -> int:
        return len(self.sku)

    @property
    def name(self) -> list[str]:
        """Product name as a line item shows it: 'Linen Throw - Sand'."""
        return [f"{t} - {v}" for t, v in zip(self.title, self.variant)]


def build(platform: str, rng: np.random.Generator) -> Catalogue:
    rows = []
    for p_index, (title, handle, variants, price, dormant) in enumerate(_PRODUCTS[platform]):
        for v_index, variant in enumerate(variants):
            rows.append((title, handle, variant, price, dormant, p_index, v_index))
    n = len(rows)
    sku = [_sku(platform, handle, variant, p, v) for title, handle, variant, _, _, p, v in rows]
    dormant = np.array([r[4] for r in rows])
    stocked = np.ones(n, bool)
    stocked[-1] = False
    # Zipf-like popularity over a seeded ranking; the non-inventory item is sold occasionally.
    rank = rng.permutation(n - 1)
    weight = np.zeros(n)
    weight[: n - 1] = 1.0 / (rank + 2.0) ** 1.6  # steep: a few SKUs make most of the sales (80/20)
    weight[dormant] = 0.0
    weight[-1] = 0.04
    by_popularity = [i for i in np.argsort(-weight, kind="stable") if stocked[i] and weight[i] > 0]
    list_cents = np.array([r[3] for r in rows], np.int64)
    on_sale = np.zeros(n, bool)
    if platform == "shopify":
        on_sale[by_popularity[3]] = on_sale[by_popularity[6]] = True
    return Catalogue(
        sku=sku,
        title=[r[0] for r in rows],
        variant=[r[2] for r in rows],
        handle=[r[1] for r in rows],
        list_cents=list_cents,
        cost_cents=(list_cents * rng.uniform(0.32, 0.45, n)).round().astype(np.int64),
        weight=weight,
        on_sale=on_sale,
        stocked=stocked,
        stockout_sku=int(by_popularity[2]),
        low_cover_sku=int(by_popularity[4]),
        repriced_sku=int(by_popularity[1]),
        hero_skus=(int(by_popularity[0]), int(by_popularity[4])),
    )


def _sku(platform: str, handle: str, variant: str, product: int, var: int) -> str:
    if platform == "taobao":
        return f"NJ-{handle.upper()}-{var + 1:02d}"
    if platform == "generic":
        return f"NL-{10010 + product * 10 + var}"
    initials = "".join(word[0] for word in handle.split("-")).upper()
    code = "".join(ch for ch in variant.upper() if ch.isalnum())[:4] or "STD"
    return f"{initials}-{code}"
