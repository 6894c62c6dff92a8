"""Candidate sources: each a small class behind the one `Source` protocol, a module each."""

from likewise.recommend.sources.base import Candidates, Query, Source, Sources
from likewise.recommend.sources.collaborative import Behaviour, Collaborative, Learned
from likewise.recommend.sources.content import Content
from likewise.recommend.sources.defaults import default_sources
from likewise.recommend.sources.exploration import Exploration
from likewise.recommend.sources.fresh import Fresh
from likewise.recommend.sources.popular import Popular

__all__ = [
    "Behaviour",
    "Candidates",
    "Collaborative",
    "Content",
    "Exploration",
    "Fresh",
    "Learned",
    "Popular",
    "Query",
    "Source",
    "Sources",
    "default_sources",
]
