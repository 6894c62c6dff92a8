"""A remote embedder: any server that speaks OpenAI's `POST /v1/embeddings` (OpenAI itself,
Azure-style deployments, and the servers teams run themselves).

A model is named `openai:<model>`, or `openai:<model>@<dim>` to ask for `dim` dimensions (sent
as `dimensions`; text-embedding-3 models shorten their vectors). That name is the store's
model id, so a store reopens with the same request it was built with. The dimension comes
from `@<dim>`, else from OpenAI's published sizes, else from one probe request.

:meth:`OpenAIEmbedder.embed` cuts the texts into requests by count and by estimated tokens,
keeps up to `concurrency` of them in flight (threads: the engine calls it synchronously), and
puts the rows back in input order by each answer's `index`. An empty text gets a zero row
without a request (OpenAI refuses empty input). Anything wrong with an answer (no JSON, no
`data`, a count or dimension that does not match, NaN) is an :class:`EmbedderError` naming it.
The texts are the request's body, never logged.
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx
import numpy as np

from likewise.embedders.base import Embedder, Vectors, normalize
from likewise.embedders.http import JsonPoster, RemoteError, Sleep
from likewise.errors import ConfigError, EmbedderError

__all__ = ["DEFAULT_BASE_URL", "KNOWN_DIMS", "PREFIX", "OpenAIEmbedder", "parse_name"]

PREFIX = "openai:"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
# OpenAI's published output sizes: a store on one of these opens without a request.
KNOWN_DIMS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
CHARS_PER_TOKEN = 4  # OpenAI's rule of thumb for English; a budget, not a count
QUERIES_KEPT = 1_024  # vectors of single texts (search queries) kept, most recent first


def parse_name(name: str) -> tuple[str, int | None]:
    """(`model`, `dimensions` or None) from `openai:<model>[@<dim>]`, or a ConfigError."""
    rest = name.removeprefix(PREFIX)
    model, at, dim = rest.rpartition("@")
    model = model if at else rest
    if not model.strip():
        raise ConfigError(f"model {name!r}: give the server's model name, e.g. {PREFIX}name")
    if at and not (dim.isdigit() and 1 <= int(dim) <= 65_536):
        raise ConfigError(f"model {name!r}: the dimensions after @ must be 1..65536")
    return model, int(dim) if at else None


def estimate_tokens(text: str) -> int:
    """A request's token budget counts each text as this many: characters / 4, rounded up."""
    return max(1, math.ceil(len(text) / CHARS_PER_TOKEN))


class OpenAIEmbedder(Embedder):
    """Texts to vectors through an OpenAI-compatible embeddings server.

    Args:
        model: the server's model name (`text-embedding-3-small`).
        base_url: the API root; requests go to `{base_url}/embeddings`.
        api_key: sent as a bearer token; kept out of every message, log line and repr.
        dimensions: ask for this many dimensions (None: the model's own).
        batch_size: most texts in one request. batch_tokens: most estimated tokens in one.
        concurrency: requests in flight at once. timeout: seconds one request may take.
        retries: tries after the first on 429, 5xx, timeouts and lost connections.
        backoff: the first retry's longest wait without `Retry-After` (doubling after).
        sleep, transport: where waits go and what carries the requests (tests).
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | None = None,
        dimensions: int | None = None,
        batch_size: int = 256,
        batch_tokens: int = 250_000,
        concurrency: int = 4,
        timeout: float = 60.0,
        retries: int = 5,
        backoff: float = 0.5,
        sleep: Sleep = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.model = model
        self.dimensions = dimensions
        self.model_id = PREFIX + model + (f"@{dimensions}" if dimensions else "")
        self.batch_size = batch_size
        self.batch_tokens = batch_tokens
        self.concurrency = concurrency
        self.keyless = not api_key
        self.base_url = base_url.rstrip("/")
        # A search embeds one text per call, and a request costs tens of milliseconds.
        self._queries: OrderedDict[str, Vectors] = OrderedDict()
        self._queries_lock = threading.Lock()
        self._poster = JsonPoster(
            f"{self.base_url}/embeddings",
            api_key=api_key,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            connections=concurrency,
            sleep=sleep,
            transport=transport,
        )
        # The pool closes with the embedder (or at exit), not when a socket is collected.
        weakref.finalize(self, self._poster.close)
        self.dim = dimensions or KNOWN_DIMS.get(model) or self._probe()

    def _probe(self) -> int:
        """The model's dimension, from one request (a model OpenAI does not publish)."""
        self.dim = 0  # any length is accepted from this one answer
        dim = len(self._request(["likewise dimension probe"])[0])
        if not dim:
            raise EmbedderError(f"embedding server {self.base_url} ({self.model}): an empty vector")
        return dim

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Every text's normalised vector, in input order, through as many requests as the
        batch limits need, `concurrency` at a time; the first failure raises (the requests
        not yet sent are dropped). A single text (a search) is answered from the last
        ones asked when it was among them."""
        cut = [text[: self.max_chars] for text in texts]
        if len(cut) == 1:
            return self._query(cut[0])
        return self.embed_many(cut)

    def embed_many(self, cut: Sequence[str]) -> Vectors:
        """:meth:`embed` of texts already cut, without the cache."""
        out = np.zeros((len(cut), self.dim), dtype=np.float32)
        batches = self.plan(cut)
        if len(batches) <= 1 or self.concurrency == 1:
            for rows in batches:
                out[rows] = self.embed_batch([cut[i] for i in rows])
            return normalize(out)
        with ThreadPoolExecutor(min(self.concurrency, len(batches))) as pool:
            futures: list[tuple[list[int], Future[Vectors]]] = [
                (rows, pool.submit(self.embed_batch, [cut[i] for i in rows])) for rows in batches
            ]
            try:
                for rows, future in futures:
                    out[rows] = future.result()
            except BaseException:
                for _, future in futures:
                    future.cancel()
                raise
        return normalize(out)

    def _query(self, text: str) -> Vectors:
        with self._queries_lock:
            if text in self._queries:
                self._queries.move_to_end(text)
                return self._queries[text].copy()
        vectors = self.embed_many([text])
        with self._queries_lock:
            self._queries[text] = vectors.copy()
            while len(self._queries) > QUERIES_KEPT:
                self._queries.popitem(last=False)
        return vectors

    def plan(self, texts: Sequence[str]) -> list[list[int]]:
        """The positions of the non-empty `texts`, cut into requests of at most `batch_size`
        texts and `batch_tokens` estimated tokens (a text past the budget goes alone)."""
        batches: list[list[int]] = []
        rows: list[int] = []
        tokens = 0
        for position, text in enumerate(texts):
            if not text:
                continue  # a zero row, as a text with nothing in it
            cost = estimate_tokens(text)
            if rows and (len(rows) >= self.batch_size or tokens + cost > self.batch_tokens):
                batches.append(rows)
                rows, tokens = [], 0
            rows.append(position)
            tokens += cost
        if rows:
            batches.append(rows)
        return batches

    def embed_batch(self, texts: Sequence[str]) -> Vectors:
        """One request: the rows of `texts`, in their order (not normalised)."""
        return np.asarray(self._request(texts), dtype=np.float32)

    def _request(self, texts: Sequence[str]) -> list[list[float]]:
        body: dict[str, Any] = {
            "model": self.model,
            "input": list(texts),
            "encoding_format": "float",
        }
        if self.dimensions:
            body["dimensions"] = self.dimensions
        try:
            answer = self._poster.post(body)
        except RemoteError as exc:
            if self.keyless and exc.status in (401, 403):
                hint = "no API key was given: set LIKEWISE_OPENAI_API_KEY"
                raise RemoteError(f"{exc} ({hint})", status=exc.status) from None
            raise
        return self._rows(answer, len(texts))

    def _rows(self, answer: Any, count: int) -> list[list[float]]:
        """The embeddings of an answer in input order, or an EmbedderError naming what is
        wrong with it."""
        where = f"embedding server {self.base_url} ({self.model})"
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, list):
            raise EmbedderError(f"{where}: the answer has no `data` list")
        if len(data) != count:
            raise EmbedderError(f"{where}: {len(data)} embeddings for {count} inputs")
        rows: list[list[float] | None] = [None] * count
        for entry in data:
            index = entry.get("index") if isinstance(entry, dict) else None
            if not isinstance(index, int) or not 0 <= index < count or rows[index] is not None:
                raise EmbedderError(f"{where}: a missing, repeated or out-of-range `index`")
            vector = entry.get("embedding")
            if not isinstance(vector, list) or not all(
                isinstance(x, int | float) and not isinstance(x, bool) for x in vector
            ):
                raise EmbedderError(f"{where}: input {index}: `embedding` is not a list of numbers")
            if self.dim and len(vector) != self.dim:
                raise EmbedderError(
                    f"{where}: input {index}: {len(vector)} dimensions, expected {self.dim}"
                )
            if not all(math.isfinite(x) for x in vector):
                raise EmbedderError(f"{where}: input {index}: NaN or infinity in `embedding`")
            rows[index] = vector
        return [row for row in rows if row is not None]
