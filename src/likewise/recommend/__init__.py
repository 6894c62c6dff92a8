"""Recommending: "for you" lists from profile strategies or a blend of candidate sources.

A :class:`Ranker` is built from the store, the ranking and profile configs and its
:class:`Sources`; each source is a small class behind the one :class:`Source` protocol. The
pure steps (blending, diversity, caps, decay, rotation, context rules, the cache) live in
`likewise.ranking`; the profile math in `likewise.profiles`.
"""

from likewise.recommend.interest import INTERESTS, Interest, interest
from likewise.recommend.lookup import Lookup
from likewise.recommend.model import (
    POOL,
    RECOMMENDERS,
    Recommendation,
    Recommended,
    Tuning,
    check_diversity,
    check_strategy,
    check_weights,
    new_id,
)
from likewise.recommend.ranker import Ranker
from likewise.recommend.sources import (
    Candidates,
    Collaborative,
    Content,
    Exploration,
    Fresh,
    Popular,
    Query,
    Source,
    Sources,
    default_sources,
)

__all__ = [
    "INTERESTS",
    "POOL",
    "RECOMMENDERS",
    "Candidates",
    "Collaborative",
    "Content",
    "Exploration",
    "Fresh",
    "Interest",
    "Lookup",
    "Popular",
    "Query",
    "Ranker",
    "Recommendation",
    "Recommended",
    "Source",
    "Sources",
    "Tuning",
    "check_diversity",
    "check_strategy",
    "check_weights",
    "default_sources",
    "interest",
    "new_id",
]
