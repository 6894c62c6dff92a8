"""Conformance suites that every backend reuses (needs pytest and hypothesis)."""

from likewise.testing.contract import StoreContract
from likewise.testing.embedders import EmbedderContract

__all__ = ["EmbedderContract", "StoreContract"]
