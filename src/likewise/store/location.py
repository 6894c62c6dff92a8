"""Data locations as people write them: a directory, or a database URL."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from likewise.errors import ConfigError

__all__ = ["redact", "split_vectors"]

VECTOR_SCHEMES = ("milvus",)


def redact(location: str) -> str:
    """The location without a URL's password (for messages, logs and stats)."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", location)


def split_vectors(url: str) -> tuple[str, str | None]:
    """A database URL without its `vectors` parameter, and where that parameter says the
    vectors live, as the URL Milvus's client takes: ``postgresql://h/db?vectors=milvus://
    10.0.0.5:19530`` is the database ``postgresql://h/db`` and ``http://10.0.0.5:19530``
    (``milvus+https://`` for TLS). No parameter: the URL as given, and None."""
    parts = urlsplit(url)
    pairs = parts.query.split("&") if parts.query else []
    given = [v for k, v in parse_qsl(parts.query, keep_blank_values=True) if k == "vectors"]
    if not given:
        return url, None
    others = "&".join(p for p in pairs if p.split("=", 1)[0] != "vectors")  # as written
    rest = urlunsplit(parts._replace(query=others))
    target = urlsplit(given[-1])
    scheme = target.scheme.lower()
    if len(given) > 1 or scheme not in ("milvus", "milvus+https") or not target.netloc:
        raise ConfigError(
            f"vectors={given[-1]!r}: give one milvus://host:port (or milvus+https://host:port)",
            field="vectors",
        )
    web = "https" if scheme == "milvus+https" else "http"
    return rest, urlunsplit(target._replace(scheme=web))
