"""Candidate sources: each a small class behind the one `Source` protocol, a module each."""

from likewise.recommend.sources.base import Candidates, Query, Source, Sources
from likewise.recommend.sources.collaborative import Collaborative
from likewise.recommend.sources.content import Content
from likewise.recommend.sources.defaults import default_sources
from likewise.recommend.sources.exploration import Exploration
from likewise.recommend.sources.fresh import Fresh
from likewise.recommend.sources.popular import Popular

__all__ = [
    "Candidates",
    "Collaborative",
    "Content",
    "Exploration",
    "Fresh",
    "Popular",
    "Query",
    "Source",
    "Sources",
    "default_sources",
]
