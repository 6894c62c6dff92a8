"""The transport under :class:`likewise.Client`: one pooled `httpx.Client`, timeouts, and
retries with backoff.

What is retried, at most `retries` more times:
- 503 (the store is unavailable) and 429 (too many requests), for every request: the server
  did not do it. The wait is the answer's `Retry-After` (seconds or an HTTP date), capped at
  `max_wait`; without one, exponential backoff with jitter.
- a connection that could not be made (`ConnectError`, `ConnectTimeout`, `PoolTimeout`), for
  every request: nothing was sent.
- any other transport failure (a read timeout, a dropped connection), only for a request
  that is safe to repeat (`idempotent`): a GET (not a recommendation: each logs an
  impression), PUT or DELETE, an upsert of items by id, an
  event batch whose every event carries an `event_id`, a search that logs nothing.

After the last try, an error response raises what its body names (`errors.py`), and a
transport failure raises :class:`StoreUnavailable` naming the URL.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from likewise.client.errors import error_from
from likewise.client.wire import encode
from likewise.errors import InvalidInput, StoreUnavailable
from likewise.retry_after import retry_after

__all__ = ["RETRY_STATUSES", "Transport", "retry_after"]

RETRY_STATUSES = frozenset({429, 503})
# Failures before the request left this process: repeating it cannot do anything twice.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
JSON = {"Content-Type": "application/json"}

Params = Mapping[str, str | int | float | bool | list[str]]


class Transport:
    """Requests to one server, through one connection pool, retried as the module says."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        timeout: float | httpx.Timeout = 10.0,
        retries: int = 3,
        backoff: float = 0.1,
        max_wait: float = 10.0,
        max_connections: int = 20,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise InvalidInput("must be an integer >= 0", field="retries")
        for name, value in (("backoff", backoff), ("max_wait", max_wait)):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise InvalidInput("must be a number >= 0", field=name)
        self.url = url.rstrip("/")
        self.retries = retries
        self.backoff = float(backoff)
        self.max_wait = float(max_wait)
        self.sleep: Callable[[float], object] = time.sleep  # tests watch the waits here
        headers = {"Accept": "application/json", "User-Agent": "likewise-client"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self.http = httpx.Client(
            base_url=self.url,
            headers=headers,
            timeout=timeout,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            transport=transport,
        )

    def wait(self, attempt: int, response: httpx.Response | None) -> float:
        """Seconds before try `attempt + 1`: the server's `Retry-After` if it gave one, else
        exponential backoff with jitter; never more than `max_wait`."""
        told = None if response is None else retry_after(response.headers.get("retry-after"))
        if told is None:
            told = self.backoff * (2**attempt) * random.uniform(0.5, 1.0)
        return min(told, self.max_wait)

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Any = None,
        content: str | None = None,
        idempotent: bool,
    ) -> Any:
        """Send one request (retried as the module says) and return its JSON (None for an
        empty answer), or raise the error the server's body names."""
        if body is not None:
            content = encode(body, "body")
        headers = JSON if content is not None else None
        attempt = 0
        while True:
            try:
                response = self.http.request(
                    method, path, params=params, content=content, headers=headers
                )
            except httpx.TransportError as exc:
                if attempt < self.retries and (idempotent or isinstance(exc, NOT_SENT)):
                    self.sleep(self.wait(attempt, None))
                    attempt += 1
                    continue
                raise self._unreachable(method, path, exc, attempt + 1) from exc
            status = response.status_code
            if status in RETRY_STATUSES and attempt < self.retries:
                self.sleep(self.wait(attempt, response))
                attempt += 1
                continue
            if status >= 400:
                raise error_from(status, _json(response), f"{method} {self.url}{path}")
            return _json(response) if response.content else None

    def _unreachable(
        self, method: str, path: str, exc: httpx.TransportError, tries: int
    ) -> StoreUnavailable:
        what = "no answer in time" if isinstance(exc, httpx.TimeoutException) else "cannot reach"
        detail = str(exc) or type(exc).__name__
        times = "once" if tries == 1 else f"{tries} times"
        return StoreUnavailable(f"{what}: {method} {self.url}{path} ({detail}; tried {times})")

    def close(self) -> None:
        self.http.close()


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
