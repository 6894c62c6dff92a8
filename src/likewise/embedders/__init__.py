"""Embedders: text to normalised vectors, offline by default."""

from likewise.embedders.base import Embedder, Vectors, normalize
from likewise.embedders.hashing import HashingEmbedder
from likewise.embedders.registry import DEFAULT_MODEL, get_embedder

__all__ = ["DEFAULT_MODEL", "Embedder", "HashingEmbedder", "Vectors", "get_embedder", "normalize"]
