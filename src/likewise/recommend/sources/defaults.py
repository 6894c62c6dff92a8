"""The sources a ranker asks unless given others."""

from __future__ import annotations

from collections.abc import Callable

from likewise.config import RankingConfig
from likewise.recommend.sources.base import Sources
from likewise.recommend.sources.collaborative import Collaborative
from likewise.recommend.sources.content import Content
from likewise.recommend.sources.exploration import Exploration
from likewise.recommend.sources.fresh import Fresh
from likewise.recommend.sources.popular import Popular
from likewise.retrieval import ItemItem
from likewise.store import Store

__all__ = ["default_sources"]


def default_sources(
    store: Store, config: RankingConfig, model: Callable[[], ItemItem | None]
) -> Sources:
    """Content, collaborative, popular and fresh for the blend (weights name them so),
    popular for new users, exploration drawn from popular.

    Args:
        store: Where the items, their vectors and the events are.
        config: `popular_by` and `fresh_days` configure the popular and fresh sources.
        model: The trained item-item model, or None before the first `train`.
    """
    trending = config.popular_by == "trending"
    return Sources(
        blend={
            "content": Content(store),
            "collaborative": Collaborative(model),
            "popular": Popular(store, trending=trending, new=False),
            "fresh": Fresh(store, days=config.fresh_days),
        },
        popular=Popular(store, trending=trending),
        explore=Exploration(Popular(store, trending=trending)),
    )
