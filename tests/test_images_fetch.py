"""Images fetched from their URLs (`image_fetch`), against a real HTTP server on loopback (a
thread): off by default (a URL stays a link and nothing is fetched), and on, a picture
fetched and embedded, a redirect followed, and every refusal (404, too slow, too large with
or without a `Content-Length`, too many redirects) naming `items[k].image` with nothing
written. The fake server's CLIP-like model embeds what is fetched (tests/fake_openai.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from tests.fake_openai import FakeOpenAI, fake_openai, picture

from likewise import Engine
from likewise.config import Settings
from likewise.errors import ConfigError, InvalidInput

RED, BLUE = (220, 25, 30), (30, 50, 220)
LIMIT = 64 * 1024  # image_fetch_max_bytes in these tests


@dataclass
class Pictures:
    """The loopback image server: what it was asked for, and where it listens."""

    url: str = ""
    paths: list[str] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: Pictures

    def do_GET(self) -> None:
        self.seen.paths.append(self.path)
        if self.path in ("/red.png", "/blue.png"):
            self._send(200, picture(RED if self.path == "/red.png" else BLUE), "image/png")
        elif self.path == "/moved":
            self._redirect("/blue.png")
        elif self.path.startswith("/loop"):
            self._redirect(f"/loop{len(self.path)}")
        elif self.path == "/slow.png":
            time.sleep(1.5)
            self._send(200, picture(RED), "image/png")
        elif self.path == "/huge.png":  # says how large: refused before the body is read
            self._send(200, b"\0" * (LIMIT + 1), "image/png")
        elif self.path == "/endless.png":  # no Content-Length: cut off while it streams
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for _ in range(64):
                    chunk = b"\0" * 8192
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass  # the client hung up: the point
        else:
            self._send(404, b"not here", "text/plain")

    def _redirect(self, to: str) -> None:
        self.send_response(302)
        self.send_header("Location", to)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(self, status: int, body: bytes, kind: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def pictures() -> Iterator[Pictures]:
    seen = Pictures()
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("H", (_Handler,), {"seen": seen}))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    seen.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield seen
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with fake_openai() as server:
        yield server


def opened(path: Path, fake: FakeOpenAI, **extra: Any) -> Engine:
    knobs: dict[str, Any] = {
        "image_model": "openai:clip-test@16",
        "openai_base_url": fake.url,
        "image_fetch_max_bytes": LIMIT,
        "image_fetch_timeout": 0.5,
        "image_fetch_redirects": 2,
    }
    settings = Settings(**{**knobs, **extra})
    return Engine.open(str(path / "d"), model="hashing-64", settings=settings)


def test_without_the_setting_a_url_is_only_a_link(
    tmp_path: Path, fake: FakeOpenAI, pictures: Pictures
) -> None:
    before = len(pictures.paths)
    with opened(tmp_path, fake) as engine:
        engine.add_items([{"id": "a", "title": "a", "image": f"{pictures.url}/red.png"}])
        assert engine.get("a").image == f"{pictures.url}/red.png"
        assert "image" not in engine.spaces()
    assert len(pictures.paths) == before and fake.requests == []


def test_fetched_pictures_are_embedded_once(
    tmp_path: Path, fake: FakeOpenAI, pictures: Pictures
) -> None:
    items = [
        {"id": "red", "title": "r", "image": f"{pictures.url}/red.png"},
        {"id": "blue", "title": "b", "image": f"{pictures.url}/moved"},  # a redirect
        {"id": "ftp", "title": "f", "image": "ftp://127.0.0.1/a.png"},  # never fetched
    ]
    with opened(tmp_path, fake, image_fetch=True) as engine:
        start = len(pictures.paths)
        engine.add_items(items)
        assert sorted(pictures.paths[start:]) == ["/blue.png", "/moved", "/red.png"]
        assert set(engine.vectors(engine.ids(), space="image")) == {"red", "blue"}
        assert engine.search("blue", space="image", n=1)[0].id == "blue"
        assert engine.get("blue").image == f"{pictures.url}/moved"  # the link as given
        sent = [t for t in fake.inputs if t.startswith("data:image/png;base64,")]
        assert len(sent) == 2
        engine.add_items(items)  # the same URLs: not fetched again
        assert len(pictures.paths) == start + 3


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        pytest.param("/missing.png", "answered HTTP 404", id="404"),
        pytest.param("/slow.png", "did not arrive within 0.5 s", id="slow"),
        pytest.param("/huge.png", "over the limit of 65,536", id="huge"),
        pytest.param("/endless.png", "over the limit of 65,536 bytes", id="endless"),
        pytest.param("/loop", "redirects more than 2 times", id="redirects"),
    ],
)
def test_a_failed_fetch_refuses_the_call_naming_the_item(
    tmp_path: Path, fake: FakeOpenAI, pictures: Pictures, path: str, reason: str
) -> None:
    items = [
        {"id": "ok", "title": "ok", "image": f"{pictures.url}/red.png"},
        {"id": "bad", "title": "bad", "image": f"{pictures.url}{path}"},
    ]
    # Only the slow case needs the short timeout: under load the good picture could miss it.
    timeout = 0.5 if path == "/slow.png" else 10.0
    with opened(tmp_path, fake, image_fetch=True, image_fetch_timeout=timeout) as engine:
        with pytest.raises(InvalidInput, match=reason) as caught:
            engine.add_items(items)
        assert caught.value.field == "items[1].image" and pictures.url in caught.value.reason
        assert engine.count() == 0 and fake.requests == []


def test_bytes_that_are_no_picture_are_refused_as_a_file_is(
    tmp_path: Path, fake: FakeOpenAI, pictures: Pictures
) -> None:
    with opened(tmp_path, fake, image_fetch=True, image_fetch_max_bytes=LIMIT * 2) as engine:
        with pytest.raises(InvalidInput, match="not an image") as caught:
            engine.add_items([{"id": "a", "title": "a", "image": f"{pictures.url}/huge.png"}])
        assert caught.value.field == "items[0].image" and engine.count() == 0


@pytest.mark.parametrize(
    ("knob", "value"),
    [
        ("image_fetch_max_bytes", 0),
        ("image_fetch_max_bytes", 21 * 1024 * 1024),
        ("image_fetch_timeout", 0),
        ("image_fetch_redirects", 11),
        ("image_model", "clip-local"),
    ],
)
def test_bad_settings_name_themselves(knob: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=knob):
        Settings(**{knob: value})


def test_a_url_python_cannot_encode_is_refused_by_name() -> None:
    """A lone surrogate (which httpx cannot encode) is an InvalidInput naming the item, not a
    UnicodeEncodeError (the review found it escaped)."""
    from likewise.config.images import ImagesConfig
    from likewise.engine.image_fetch import fetch_images

    config = ImagesConfig(image_fetch=True, image_fetch_timeout=2)
    with pytest.raises(InvalidInput) as refused:
        fetch_images(["http://127.0.0.1:9/ok#\udcff"], ["items[0].image"], config)
    assert refused.value.field == "items[0].image"
