"""A fake OpenAI embeddings server on loopback: a real HTTP server in a thread.

It speaks `POST /v1/embeddings` as OpenAI does (`{"model", "input": [...], "dimensions"?,
"encoding_format"?}` in, a list of `{"index", "embedding"}` out) and gives each text the
bag-of-words hashing vector `HashingEmbedder` would, so texts that share words are close and
the same text always gets the same vector. Switches on the server object make it misbehave:
rate limits with `Retry-After`, 5xx, slow answers, malformed bodies, a wrong dimension,
shuffled `index`es, and failures for chosen inputs or after a number of requests. It counts
what it was sent, so tests can check what a client did and did not send again. A model named
`clip...` is the CLIP case: images sent as `data:image/...;base64,` inputs and texts land in
one space, by colour (:func:`clip_vector`).
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from likewise.embedders.hashing import HashingEmbedder

__all__ = ["CLIP", "COLOURS", "NATIVE", "FakeOpenAI", "clip_vector", "fake_openai", "picture"]

NATIVE = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072}
DEFAULT_DIM = 64  # any other model's size
CLIP = "clip"  # a model named clip... embeds images and texts into one space (clip_vector)
COLOURS = {  # the fake CLIP's colours, one dimension each, in this order
    "red": (220, 30, 30),
    "green": (30, 170, 50),
    "blue": (30, 50, 220),
    "yellow": (230, 220, 40),
    "white": (245, 245, 245),
    "black": (10, 10, 10),
}


@dataclass
class FakeOpenAI:
    """The switches and the counters of one fake server (read and set them from tests)."""

    key: str | None = None  # the bearer token it wants (None: any or none)
    fail_status: int | None = None  # answer this status ...
    fail_times: int = 0  # ... to this many requests (then work again)
    retry_after: str | None = None  # the `Retry-After` header of those failures
    delay: float = 0.0  # seconds before each answer
    malformed: str | None = None  # not-json, no-data, wrong-count, wrong-dim, nan
    shuffle: bool = False  # answer the rows in reverse order (each keeps its index)
    fail_after: int | None = None  # requests after this many get a 500
    fail_when: Callable[[str], bool] | None = None  # a 400 for a batch holding such a text
    requests: list[dict[str, Any]] = field(default_factory=list)  # every body, in order
    statuses: list[int] = field(default_factory=list)  # each one's answer (0: not yet)
    url: str = ""  # http://127.0.0.1:port/v1, set once it listens
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def inputs(self) -> list[str]:
        """Every text of every request answered 200, in order."""
        return [
            text
            for body, status in zip(self.requests, self.statuses, strict=False)
            if status == 200
            for text in body["input"]
        ]

    def answer(self, headers: dict[str, str], body: Any) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) for one request, as the switches say; the request and its
        status are kept in the order requests arrived."""
        with self.lock:
            self.requests.append(body)
            self.statuses.append(0)
            count = len(self.requests)
        answer = self._answer(headers, body, count)
        self.statuses[count - 1] = answer[0]
        return answer

    def _answer(
        self, headers: dict[str, str], body: Any, count: int
    ) -> tuple[int, dict[str, str], bytes]:
        time.sleep(self.delay)
        if self.key is not None and headers.get("authorization") != f"Bearer {self.key}":
            given = headers.get("authorization", "").removeprefix("Bearer ")
            return _error(401, f"Incorrect API key provided: {given}.", "invalid_api_key")
        if self.fail_status is not None and self.fail_times > 0:
            with self.lock:
                self.fail_times -= 1
            extra = {"Retry-After": self.retry_after} if self.retry_after else {}
            status, _, text = _error(self.fail_status, "the fake says no", "fake_failure")
            return status, extra, text
        if self.fail_after is not None and count > self.fail_after:
            return _error(500, "The server had an error while processing your request.")
        texts = body.get("input") if isinstance(body, dict) else None
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            return _error(400, "'input' must be a non-empty list of strings", "invalid_input")
        if any(not t for t in texts):
            return _error(400, "'$.input' is invalid: an empty string", "invalid_input")
        if self.fail_when is not None and any(self.fail_when(t) for t in texts):
            return _error(400, "this input is refused by the fake", "invalid_input")
        return 200, {}, self._embeddings(body, texts)

    def _embeddings(self, body: dict[str, Any], texts: list[str]) -> bytes:
        model = str(body.get("model"))
        dim = int(body.get("dimensions") or NATIVE.get(model, DEFAULT_DIM))
        if self.malformed == "wrong-dim":
            dim += 1
        if model.startswith(CLIP):
            vectors = [clip_vector(t, dim) for t in texts]
        else:
            vectors = HashingEmbedder(dim).embed(texts).tolist()
        rows: list[dict[str, Any]] = [
            {"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)
        ]
        if self.shuffle:
            rows.reverse()
        if self.malformed == "wrong-count":
            rows.pop()
        if self.malformed == "nan":
            rows[0]["embedding"][0] = float("nan")
        tokens = sum(len(t.split()) for t in texts)
        answer: dict[str, Any] = {
            "object": "list",
            "data": rows,
            "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        if self.malformed == "no-data":
            del answer["data"]
        if self.malformed == "not-json":
            return b"<html>502 Bad Gateway</html>"
        return json.dumps(answer).encode()  # NaN goes out as the bare token NaN, as in Python


def clip_vector(text: str, dim: int) -> list[float]:
    """The fake CLIP model's vector: an image (a `data:image/...;base64,` input) is its share
    of pixels nearest each of `COLOURS`; a text is 1 for each colour it names, plus a faint
    hashing vector of its words in the other dimensions (so no text is all zeros). "red"
    therefore lands nearest the reddest pictures, and a test can say which."""
    vector = np.zeros(dim, dtype=np.float64)
    if text.startswith("data:image/"):
        from PIL import Image

        raw = base64.b64decode(text.partition(",")[2])
        with Image.open(io.BytesIO(raw)) as img:
            pixels = np.asarray(img.convert("RGB").resize((32, 32)), dtype=np.float64)
        centres = np.array(list(COLOURS.values()), dtype=np.float64)
        nearest = ((pixels.reshape(-1, 1, 3) - centres) ** 2).sum(axis=2).argmin(axis=1)
        vector[: len(COLOURS)] = np.bincount(nearest, minlength=len(COLOURS)) / len(nearest)
        return [float(x) for x in vector]
    words = text.lower().split()
    for k, colour in enumerate(COLOURS):
        vector[k] = float(colour in words)
    vector[len(COLOURS) :] = 0.1 * HashingEmbedder(dim - len(COLOURS)).embed([text])[0]
    return [float(x) for x in vector]


def _error(
    status: int, message: str, code: str = "server_error"
) -> tuple[int, dict[str, str], bytes]:
    body = {"error": {"message": message, "type": "invalid_request_error", "code": code}}
    return status, {}, json.dumps(body).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a client's pool expects
    timeout = 10  # an idle kept-alive connection is dropped after this
    fake: FakeOpenAI

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        if self.path != "/v1/embeddings":
            self._send(*_error(404, f"no route {self.path}"))
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._send(*_error(400, "the body is not JSON"))
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        self._send(*self.fake.answer(headers, body))

    def _send(self, status: int, extra: dict[str, str], payload: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True  # the client gave up (a timeout): nothing to do

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests read the counters instead


@contextmanager
def fake_openai(**switches: Any) -> Iterator[FakeOpenAI]:
    """A running fake on 127.0.0.1 (a free port), stopped on exit."""
    fake = FakeOpenAI(**switches)
    handler = type("Handler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def picture(rgb: tuple[int, int, int], *, size: int = 48, kind: str = "PNG") -> bytes:
    """A picture of one colour (a white band across it, so no two colours are alike in
    everything), as the bytes of a `kind` file."""
    from PIL import Image

    img = Image.new("RGB", (size, size), rgb)
    img.paste((245, 245, 245), (0, 0, size, size // 6))
    out = io.BytesIO()
    img.save(out, kind)
    return out.getvalue()


def main() -> None:
    """Serve a fake until killed, printing its URL first (for `bench/remote_embedder.py`,
    which runs it in its own process so that it does not share the client's interpreter)."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    args = parser.parse_args()
    with fake_openai(delay=args.delay) as fake:
        print(fake.url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
