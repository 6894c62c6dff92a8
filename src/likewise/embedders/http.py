"""The HTTP half of a remote embedder: one pooled `httpx.Client`, a timeout per request, and
retries with backoff.

What is retried, at most `retries` more times: 429 (rate limited) and every 5xx, a timeout
and a lost or refused connection. An embedding request changes nothing on the server, so
repeating it is always safe. The wait is the answer's `Retry-After` (seconds or an HTTP
date), capped at `max_wait`; without one, exponential backoff with full jitter, so that
clients refused together do not come back together. Any other 4xx (a bad key, a bad input)
fails at once: repeating it cannot help.

The API key is sent in a header and kept out of every message this module builds, even when
a server echoes it back in an error body.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from typing import Any

import httpx

from likewise.errors import EmbedderError
from likewise.retry_after import retry_after

__all__ = ["JsonPoster", "RemoteError", "retry_after"]

log = logging.getLogger(__name__)

Sleep = Callable[[float], object]


class RemoteError(EmbedderError):
    """The embedding server refused or could not be reached; `status` is the HTTP status of
    its last answer (None: no answer)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class JsonPoster:
    """POSTs JSON to one URL and returns the decoded answer, retried as the module says.

    `sleep` is where the waits go (tests record them instead of waiting).
    """

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None,
        timeout: float,
        retries: int,
        backoff: float = 0.5,
        max_wait: float = 60.0,
        connections: int = 4,
        sleep: Sleep = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.sleep = sleep
        self._secret = api_key or None
        headers = {"Content-Type": "application/json", "User-Agent": "likewise"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.Client(
            headers=headers,
            timeout=timeout,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"<JsonPoster {self.url}>"  # never the headers: they hold the key

    def wait(self, attempt: int, response: httpx.Response | None) -> float:
        """Seconds before try `attempt + 2`: the server's `Retry-After` when it gave one, else
        exponential backoff with full jitter; never more than `max_wait`."""
        told = None if response is None else retry_after(response.headers.get("retry-after"))
        if told is None:
            told = random.uniform(0.0, self.backoff * 2**attempt)
        return min(told, self.max_wait)

    def post(self, body: dict[str, Any]) -> Any:
        """The decoded JSON answer to one POST of `body`, or a :class:`RemoteError` naming the
        status (or the transport failure) and the server's message."""
        content = json.dumps(body, allow_nan=False).encode()  # ASCII: a lone surrogate too
        attempt = 0
        while True:
            try:
                response = self._http.post(self.url, content=content)
            except httpx.TransportError as exc:
                problem = _transport_problem(exc)
                if attempt < self.retries:
                    self._retry(attempt, None, problem)
                    attempt += 1
                    continue
                raise RemoteError(self._scrub(self._failed(problem, attempt))) from None
            status = response.status_code
            if status < 400:
                return self._decode(response)
            problem = f"HTTP {status}: {self._server_message(response)}"
            if (status == 429 or status >= 500) and attempt < self.retries:
                self._retry(attempt, response, problem)
                attempt += 1
                continue
            raise RemoteError(self._scrub(self._failed(problem, attempt)), status=status)

    def _retry(self, attempt: int, response: httpx.Response | None, problem: str) -> None:
        seconds = self.wait(attempt, response)
        log.warning(
            "%s",
            self._scrub(f"{self.url}: {problem}; try {attempt + 2} in {seconds:.2f} s"),
        )
        self.sleep(seconds)

    def _failed(self, problem: str, attempt: int) -> str:
        tries = "" if attempt == 0 else f" (after {attempt + 1} tries)"
        return f"embedding server {self.url} failed{tries}: {problem}"

    def _decode(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            snippet = response.text[:80]
            raise EmbedderError(
                self._scrub(f"embedding server {self.url} answered with no JSON: {snippet!r}")
            ) from None

    def _server_message(self, response: httpx.Response) -> str:
        """The message an OpenAI-style error body carries (`{"error": {"message": ...}}`),
        else the start of the body."""
        try:
            body = response.json()
        except ValueError:
            return response.text[:200].strip() or response.reason_phrase
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])[:500]
        if isinstance(error, str):
            return error[:500]
        return json.dumps(body)[:200]

    def _scrub(self, text: str) -> str:
        """`text` with the key masked, wherever a server or a library put it."""
        return text.replace(self._secret, "***") if self._secret else text

    def close(self) -> None:
        self._http.close()


def _transport_problem(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer in time ({type(exc).__name__})"
    return f"cannot reach the server ({type(exc).__name__}: {exc})"
