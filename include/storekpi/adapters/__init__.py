"""Platform adapters: which export layouts each platform produces for each dataset.

`layouts(platform, dataset)` is the whole interface the ingest needs; reading (`reading`), typing and checking
(`parsing`, `canonical`) are shared by every platform.
"""

from __future__ import annotations

from storekpi.adapters import generic, marketing, shopify, taobao
from storekpi.adapters.base import Field, Layout

_PLATFORMS = {"shopify": shopify.LAYOUTS, "taobao": taobao.LAYOUTS, "generic": generic.LAYOUTS}


def layouts(platform: str, dataset: str) -> tuple[Layout, ...]:
    if dataset in ("traffic_sources", "ad_spend"):
        return marketing.layouts(platform)[dataset]
    return _PLATFORMS[platform][dataset]


__all__ = ["Field", "Layout", "layouts"]
