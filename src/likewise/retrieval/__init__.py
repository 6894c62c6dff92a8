"""Candidate sources: content (the store's vector search), collaborative, popular, fresh."""

from likewise.retrieval.collaborative import ItemItem

__all__ = ["ItemItem"]
