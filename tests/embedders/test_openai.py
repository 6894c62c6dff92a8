"""The OpenAI-compatible embedder against a fake server on loopback (real sockets): batching,
order, retries and their waits, timeouts, clear errors, and a key that never shows."""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Iterator
from email.utils import formatdate
from typing import Any

import numpy as np
import pytest
from tests.fake_openai import FakeOpenAI, fake_openai

from likewise.config.embedding import DEFAULT_BASE_URL, EmbeddingConfig
from likewise.embedders import HashingEmbedder, get_embedder
from likewise.embedders.http import RemoteError, retry_after
from likewise.embedders.openai import DEFAULT_BASE_URL as EMBEDDER_DEFAULT
from likewise.embedders.openai import OpenAIEmbedder, parse_name
from likewise.errors import ConfigError, EmbedderError

KEY = "sk-test-4f1d9c2a7b"


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with fake_openai() as server:
        yield server


class Waits(list[float]):
    """A `sleep` that records each wait instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make(fake: FakeOpenAI, model: str = "fake-embed", **options: Any) -> OpenAIEmbedder:
    options.setdefault("sleep", Waits())
    return OpenAIEmbedder(model, base_url=fake.url, **options)


def test_rows_are_the_servers_vectors_in_input_order(fake: FakeOpenAI) -> None:
    fake.shuffle = True  # rows come back reversed; each keeps its index
    texts = ["moon rocket", "pasta with tomato", "the rocket reaches the moon"]
    vectors = make(fake).embed(texts)
    assert np.allclose(vectors, HashingEmbedder(64).embed(texts), atol=1e-6)
    body = fake.requests[-1]
    assert body["model"] == "fake-embed" and body["input"] == texts
    assert body["encoding_format"] == "float" and "dimensions" not in body


def test_dimensions_are_asked_for_and_name_the_model(fake: FakeOpenAI) -> None:
    embedder = make(fake, "text-embedding-3-small", dimensions=32)
    assert (embedder.model_id, embedder.dim) == ("openai:text-embedding-3-small@32", 32)
    assert fake.requests == []  # the size was given: no probe
    assert embedder.embed(["moon"]).shape == (1, 32)
    assert fake.requests[0]["dimensions"] == 32


def test_known_models_need_no_probe_and_others_one(fake: FakeOpenAI) -> None:
    assert make(fake, "text-embedding-3-large").dim == 3072 and fake.requests == []
    probed = make(fake, "nomic-embed-text:latest")
    assert (probed.model_id, probed.dim) == ("openai:nomic-embed-text:latest", 64)
    assert len(fake.requests) == 1


def test_requests_are_cut_by_count_and_by_tokens(fake: FakeOpenAI) -> None:
    texts = [f"text number {i}" for i in range(10)] + ["x" * 400, "", "short"]
    vectors = make(fake, batch_size=4, batch_tokens=60, concurrency=1).embed(texts)
    sizes = [len(body["input"]) for body in fake.requests[1:]]  # after the probe
    # 4, 4, then the last two numbered ones; the 100-token text goes alone; "" is never sent.
    assert sizes == [4, 4, 2, 1, 1]
    assert fake.inputs[1:] == [t for t in texts if t]
    assert not vectors[11].any() and np.allclose(np.linalg.norm(vectors[:11], axis=1), 1)


def test_no_more_requests_in_flight_than_the_concurrency(fake: FakeOpenAI) -> None:
    fake.delay = 0.5  # long enough that the three workers' first requests overlap
    peak, now, lock = [0], [0], threading.Lock()
    answer = fake.answer

    def counting(headers: dict[str, str], body: Any) -> Any:
        with lock:
            now[0] += 1
            peak[0] = max(peak[0], now[0])
        try:
            return answer(headers, body)
        finally:
            with lock:
                now[0] -= 1

    fake.answer = counting  # type: ignore[method-assign]
    texts = [f"item {i}" for i in range(12)]
    vectors = make(fake, batch_size=2, concurrency=3).embed(texts)
    assert len(fake.requests) == 1 + 6 and peak[0] == 3  # never more than 3, and 3 were used
    assert np.allclose(vectors, HashingEmbedder(64).embed(texts), atol=1e-6)


def test_a_429_waits_as_retry_after_says(fake: FakeOpenAI) -> None:
    waits = Waits()
    embedder = make(fake, sleep=waits)
    fake.fail_status, fake.fail_times, fake.retry_after = 429, 2, "7"
    embedder.embed(["moon"])
    assert waits == [7.0, 7.0] and fake.statuses == [200, 429, 429, 200]  # probe first


def test_retry_after_as_an_http_date_is_honoured_with_real_waiting(fake: FakeOpenAI) -> None:
    embedder = make(fake, sleep=time.sleep)
    fake.fail_status, fake.fail_times = 503, 1
    fake.retry_after = formatdate(time.time() + 2, usegmt=True)  # whole seconds: 1 to 2 s on
    start = time.monotonic()
    embedder.embed(["moon"])
    assert time.monotonic() - start >= 0.9  # the date was read, not taken as "no wait"
    assert fake.statuses[-2:] == [503, 200]
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after("soon") is None and retry_after("-3") == 0.0


def test_5xx_without_retry_after_backs_off_with_jitter(fake: FakeOpenAI) -> None:
    embedder = make(fake, backoff=0.5)
    fake.fail_status, fake.fail_times = 500, 3
    embedder.embed(["moon"])
    waits = embedder._poster.sleep
    assert isinstance(waits, Waits) and len(waits) == 3
    assert all(0 <= w <= 0.5 * 2**k for k, w in enumerate(waits))


def test_retries_run_out_with_the_status_and_the_servers_message(fake: FakeOpenAI) -> None:
    embedder = make(fake, retries=2)
    fake.fail_status, fake.fail_times = 503, 10
    with pytest.raises(EmbedderError, match=r"after 3 tries\): HTTP 503: the fake says no"):
        embedder.embed(["moon"])
    assert fake.statuses[-3:] == [503, 503, 503]


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_other_4xx_fail_at_once(fake: FakeOpenAI, status: int) -> None:
    embedder = make(fake, api_key=KEY)
    fake.fail_status, fake.fail_times = status, 10
    with pytest.raises(RemoteError, match=rf"failed: HTTP {status}: the fake says no$") as refused:
        embedder.embed(["moon"])
    assert refused.value.status == status and isinstance(refused.value, EmbedderError)
    assert len(fake.requests) == 2  # the probe and one try


def test_a_slow_server_times_out_and_is_retried(fake: FakeOpenAI) -> None:
    embedder = make(fake, timeout=0.2, retries=1)
    fake.delay = 1.0
    with pytest.raises(EmbedderError, match=r"after 2 tries\): no answer in time \(ReadTimeout"):
        embedder.embed(["moon"])
    assert len(fake.requests) == 3
    fake.delay = 0.0
    assert embedder.embed(["moon"]).shape == (1, 64)  # the pool recovers


def test_a_server_that_is_not_there_is_named() -> None:
    with fake_openai() as gone:
        url = gone.url
    embedder = OpenAIEmbedder(
        "text-embedding-3-small", base_url=url, retries=1, sleep=Waits(), timeout=2
    )
    with pytest.raises(EmbedderError, match=r"after 2 tries\): cannot reach the server"):
        embedder.embed(["moon"])


@pytest.mark.parametrize(
    ("malformed", "message"),
    [
        pytest.param("not-json", r"answered with no JSON: '<html>502", id="not-json"),
        pytest.param("no-data", r"the answer has no `data` list", id="no-data"),
        pytest.param("wrong-count", r"2 embeddings for 3 inputs", id="wrong-count"),
        pytest.param("wrong-dim", r"input 0: 65 dimensions, expected 64", id="wrong-dim"),
        pytest.param("nan", r"input 0: NaN or infinity in `embedding`", id="nan"),
    ],
)
def test_a_malformed_answer_is_named(fake: FakeOpenAI, malformed: str, message: str) -> None:
    embedder = make(fake)
    fake.malformed = malformed
    with pytest.raises(EmbedderError, match=message):
        embedder.embed(["moon", "rocket", "pasta"])


def test_the_key_never_shows(fake: FakeOpenAI, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore too
    fake.key = "sk-the-right-one"
    config = EmbeddingConfig(openai_base_url=fake.url, openai_api_key=KEY, openai_retries=1)
    options = {**config.embedder_options(), "sleep": Waits()}
    embedder = OpenAIEmbedder("text-embedding-3-small", **options)
    with pytest.raises(EmbedderError) as refused:  # the fake echoes the wrong key it got
        embedder.embed(["moon"])
    assert "HTTP 401: Incorrect API key provided: ***." in str(refused.value)
    fake.key, fake.fail_status, fake.fail_times, fake.retry_after = None, 429, 5, "0"
    with pytest.raises(EmbedderError) as limited:
        embedder.embed(["moon"])
    shown = [
        str(refused.value),
        *traceback.format_exception(refused.value),
        *traceback.format_exception(limited.value),
        caplog.text,
        repr(embedder),
        repr(embedder._poster),
        repr(config),
        str(config.model_dump()),
        config.model_dump_json(),
    ]
    assert "try 2 in 0.00 s" in caplog.text  # the retries were logged ...
    assert not [text for text in shown if KEY in text]  # ... and the key is nowhere
    assert fake.statuses.count(401) == 1


def test_no_key_adds_a_hint_to_a_refusal(fake: FakeOpenAI) -> None:
    fake.key = KEY
    embedder = make(fake, "text-embedding-3-small")
    with pytest.raises(EmbedderError, match=r"HTTP 401: .*set LIKEWISE_OPENAI_API_KEY\)$"):
        embedder.embed(["moon"])


def test_names_and_settings_reach_the_embedder(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert parse_name("openai:text-embedding-3-small@256") == ("text-embedding-3-small", 256)
    assert parse_name("openai:org/model:tag") == ("org/model:tag", None)
    for bad in ("openai:", "openai:m@0", "openai:m@x", "openai: @4"):
        with pytest.raises(ConfigError, match=r"model 'openai:"):
            get_embedder(bad)
    assert DEFAULT_BASE_URL == EMBEDDER_DEFAULT == "https://api.openai.com/v1"
    monkeypatch.setenv("LIKEWISE_OPENAI_BASE_URL", fake.url + "/")
    monkeypatch.setenv("LIKEWISE_OPENAI_DIMENSIONS", "48")
    monkeypatch.setenv("LIKEWISE_OPENAI_BATCH_SIZE", "3")
    monkeypatch.setenv("LIKEWISE_OPENAI_API_KEY", KEY)
    embedder = get_embedder("openai:text-embedding-3-small")
    assert isinstance(embedder, OpenAIEmbedder)
    assert (embedder.model_id, embedder.dim, embedder.batch_size) == (
        "openai:text-embedding-3-small@48",
        48,
        3,
    )
    fake.key = KEY
    assert embedder.embed(["a", "b", "c", "d"]).shape == (4, 48)
    assert sorted(len(b["input"]) for b in fake.requests) == [1, 3]  # two in flight
    # A store's recorded name keeps its size whatever the setting says now.
    assert get_embedder("openai:text-embedding-3-small@16").dim == 16
    monkeypatch.setenv("LIKEWISE_OPENAI_BASE_URL", "localhost:8080")
    with pytest.raises(ConfigError, match=r"setting openai_base_url: .*http:// or https://"):
        get_embedder("openai:text-embedding-3-small")


def test_a_repeated_single_text_is_answered_without_a_request(fake: FakeOpenAI) -> None:
    embedder = make(fake, "text-embedding-3-small", dimensions=16)
    first = embedder.embed(["moon rocket"])
    first[0, 0] = 99.0  # the caller's copy: changing it leaves the kept one alone
    again = embedder.embed(["moon rocket"])
    assert len(fake.requests) == 1 and np.isclose(np.linalg.norm(again[0]), 1.0)
    embedder.embed(["pasta"])
    embedder.embed(["moon rocket", "pasta"])  # many texts: always asked (an ingest)
    assert [b["input"] for b in fake.requests[1:]] == [["pasta"], ["moon rocket", "pasta"]]
