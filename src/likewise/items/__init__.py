"""Items: the model, content templates, hashing and file loaders."""

from likewise.items.loaders import LoadResult, load_items
from likewise.items.model import DEFAULT_TEMPLATE, ContentTemplate, Item, parse_item

__all__ = ["DEFAULT_TEMPLATE", "ContentTemplate", "Item", "LoadResult", "load_items", "parse_item"]
