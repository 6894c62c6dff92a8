"""PostgreSQL with the vectors in Milvus (needs `pip install 'likewise[milvus,postgres]'`)."""

from likewise.store.milvus.collections import MilvusConfig
from likewise.store.milvus.store import MilvusStore

__all__ = ["MilvusConfig", "MilvusStore"]
