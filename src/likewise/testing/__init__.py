"""Conformance suites that every backend reuses (needs pytest and hypothesis)."""

from likewise.testing.contract import StoreContract

__all__ = ["StoreContract"]
