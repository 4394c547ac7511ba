"""FastAPI dependencies: the process's engine parts, looked up on ``app.state`` (set by ``create_app``).

``async`` because they only read attributes: FastAPI runs a plain ``def`` dependency on a worker thread.
"""

from __future__ import annotations

from fastapi import Depends, Request
from pymongo.database import Database

from services.common.bus import EventProducer
from services.common.settings import Settings
from services.promotion_engine.config import PromotionConfig
from services.promotion_engine.engine import Engine
from services.promotion_engine.promotions import PromotionStore
from services.promotion_engine.recommender import Recommender
from services.promotion_engine.registry import UpliftModels
from services.promotion_engine.training import Trainer


async def get_engine(request: Request) -> Engine:
    return request.app.state.engine


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_config(request: Request) -> PromotionConfig:
    return request.app.state.config


async def get_db(engine: Engine = Depends(get_engine)) -> Database:
    return engine.db


async def get_producer(engine: Engine = Depends(get_engine)) -> EventProducer:
    return engine.producer


async def get_promotion_store(engine: Engine = Depends(get_engine)) -> PromotionStore:
    return engine.promotions


async def get_recommender(engine: Engine = Depends(get_engine)) -> Recommender:
    return engine.recommender


async def get_registry(engine: Engine = Depends(get_engine)) -> UpliftModels:
    return engine.registry


async def get_trainer(engine: Engine = Depends(get_engine)) -> Trainer:
    return engine.trainer
