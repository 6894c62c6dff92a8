"""The sources a ranker asks unless given others."""

from __future__ import annotations

from collections.abc import Callable

from likewise.config import RankingConfig
from likewise.recommend.sources.base import Sources
from likewise.recommend.sources.collaborative import Behaviour, Collaborative, Learned
from likewise.recommend.sources.content import Content
from likewise.recommend.sources.exploration import Exploration
from likewise.recommend.sources.fresh import Fresh
from likewise.recommend.sources.popular import Popular
from likewise.retrieval.models import Models
from likewise.store import Store

__all__ = ["default_sources"]


def default_sources(
    store: Store, config: RankingConfig, models: Callable[[], Models | None]
) -> Sources:
    """For the blend (weights name them so): content, the trained models (collaborative:
    item-kNN, ease, sequential: the next-item model, neural: SASRec, behaviour: the learned
    space's search), popular and fresh; popular for new users, exploration drawn from popular.

    Args:
        store: Where the items, their vectors and the events are.
        config: `popular_by` and `fresh_days` configure the popular and fresh sources.
        models: The trained models, or None before the first `train`.
    """
    trending = config.popular_by == "trending"
    return Sources(
        blend={
            "content": Content(store),
            "collaborative": Collaborative(models),
            "ease": Learned(models, "ease"),
            "sequential": Learned(models, "next_item"),
            "neural": Learned(models, "neural"),
            "behaviour": Behaviour(store),
            "popular": Popular(store, trending=trending, new=False),
            "fresh": Fresh(store, days=config.fresh_days),
        },
        popular=Popular(store, trending=trending),
        explore=Exploration(Popular(store, trending=trending)),
    )
