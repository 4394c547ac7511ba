"""Promotion-engine-only settings, beside the platform's shared ``Settings``.

Kept in this package (as the dashboard keeps ``DashboardConfig``) so the shared settings need no
promotion fields; read the same way: environment first (``SHELFCAST_PROMOTION_*``), then the
``SHELFCAST_ENV_FILE`` file, and keyword overrides win (tests).
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.settings import read_settings


class PromotionConfig(BaseSettings):
    """Tunables of the promotion engine process."""

    model_config = SettingsConfigDict(env_prefix="SHELFCAST_PROMOTION_", extra="ignore")

    # --- experiment design ---------------------------------------------------------------------
    control_share: float = Field(
        default=0.10, ge=0.0, le=1.0, description="share of customers held out of every promotion"
    )
    control_salt: str = Field(
        default="shelfcast-control-v1",
        min_length=1,
        description="changing it reshuffles who is in the control group: only between experiments",
    )
    attribution_days: int = Field(
        default=7, ge=1, le=90, description="an order within this many days after exposure counts as a conversion"
    )

    # --- features --------------------------------------------------------------------------------
    click_source: Literal["stream", "mongo"] = Field(
        default="stream",
        description="stream: tail the clicks topic into memory (fast); mongo: query clicks per request (needs a real "
        "index)",
    )
    recent_clicks_minutes: int = Field(
        default=30, ge=1, le=24 * 60, description="clicks this recent shape the answer (cart, views)"
    )
    history_days: int = Field(default=365, ge=1, description="orders this old or newer feed RFM and category affinity")
    history_refresh_s: float = Field(
        default=60.0, ge=0.0, description="order-history snapshot reload period; 0 = load once at start"
    )

    # --- caches (other processes' writes become visible after this long) ---------------------------
    catalog_ttl_s: float = Field(default=30.0, ge=0.0, description="products")
    promotions_ttl_s: float = Field(
        default=2.0, ge=0.0, description="promotion definitions (this process's own writes are seen at once)"
    )
    stock_ttl_s: float = Field(default=1.0, ge=0.0, description="stock levels; 0 = read on every request")

    # --- serving writes --------------------------------------------------------------------------
    write_behind_s: float = Field(
        default=0.5,
        ge=0.0,
        le=60.0,
        description="budget charges and frequency counters are kept in memory and written every this many seconds "
        "(and at shutdown); "
        "0 = write-through, one database round trip per charge and claim (strict across several engine processes)",
    )

    score_ttl_s: float = Field(
        default=600.0,
        ge=0.0,
        le=3600.0,
        description="uplift scores of known customers are computed ahead of requests and reused this long while their "
        "inputs are unchanged "
        "(score_cache; only days-since-last-order drifts meanwhile, by at most this long); 0 = every request runs the "
        "model itself",
    )

    # --- serving rules ---------------------------------------------------------------------------
    overstock_cover: float = Field(
        default=3.0, gt=0.0, description="on_hand / reorder_threshold at or above which a SKU counts as overstocked"
    )
    overstock_boost: float = Field(default=0.25, ge=0.0, description="score bonus (fraction) for overstocked SKUs")
    default_store_online: str = Field(
        default="web", description="stock location of the online channel when no store_id is given"
    )
    default_store_marketplace: str = Field(
        default="mkt", description="stock location of the marketplace channel when no store_id is given"
    )
    max_k: int = Field(default=20, ge=1, le=100)

    # --- processes ---------------------------------------------------------------------------------
    workers: int = Field(
        default=1,
        ge=0,
        le=64,
        description="uvicorn worker processes sharing the port; 0 = one per CPU core. Each is a whole engine: "
        "see README 'Promotion engine workers' for what is shared and what is per process",
    )

    @property
    def worker_count(self) -> int:
        return self.workers or os.cpu_count() or 1

    # --- HTTP limits -------------------------------------------------------------------------------
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    max_list_limit: int = Field(default=500, ge=1)


def load_promotion_config(**overrides: object) -> PromotionConfig:
    """A fresh config; keyword overrides win over environment and file."""
    return read_settings(PromotionConfig, **overrides)
