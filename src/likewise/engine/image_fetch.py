"""Images fetched from their URLs, when the `image_fetch` setting allows it.

Off by default: a caller with a write key would otherwise make the server reach any host it can
reach. On, an item's `image` that is an `http://` or `https://` URL is fetched at ingest,
before anything is written, so a failed fetch refuses the call as a missing file does: the
item's position and the field `image`, with why (the status, a timeout, the size). Each fetch
follows at most `image_fetch_redirects` redirects and reads at most `image_fetch_max_bytes`:
a larger `Content-Length` is refused before the body is read, and a body without one is cut
off while it streams, so no answer can fill the memory. `image_fetch_timeout` bounds the whole
fetch, however slowly the bytes come. The bytes go on as a `data:` URI to the image model,
which checks them as it checks a file.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from likewise.config.images import ImagesConfig
from likewise.errors import InvalidInput

if TYPE_CHECKING:  # imported when a fetch runs: `import likewise` goes without httpx
    import httpx

__all__ = ["fetch_image", "fetch_images", "is_url"]

FETCHES_AT_ONCE = 8  # a batch of URLs is fetched this many at a time
SIZE = "MAX_BYTES"


def is_url(image: str | None) -> bool:
    """Whether `image` is a URL this module fetches (http or https)."""
    return image is not None and image.lower().startswith(("http://", "https://"))


def fetch_images(urls: Sequence[str], fields: Sequence[str], config: ImagesConfig) -> list[str]:
    """Each of `urls` fetched as a `data:` URI, in order; the first failure in order raises
    InvalidInput naming its URL, why, and its field (`fields[k]`, as `items[3].image`)."""
    import httpx

    with (
        httpx.Client(
            follow_redirects=True,
            max_redirects=config.image_fetch_redirects,
            timeout=config.image_fetch_timeout,
            headers={"User-Agent": "likewise", "Accept": "image/*"},
        ) as client,
        ThreadPoolExecutor(min(FETCHES_AT_ONCE, max(1, len(urls)))) as pool,
    ):
        futures = [pool.submit(fetch_image, url, config, client) for url in urls]
        fetched: list[str] = []
        for position, future in enumerate(futures):
            try:
                fetched.append(future.result())
            except InvalidInput as exc:
                for waiting in futures:
                    waiting.cancel()
                raise InvalidInput(exc.reason, field=fields[position]) from None
        return fetched


def fetch_image(url: str, config: ImagesConfig, client: httpx.Client) -> str:
    """One image's bytes as `data:<type>;base64,...` (the type its server declared)."""
    import httpx

    limit = config.image_fetch_max_bytes
    deadline = time.monotonic() + config.image_fetch_timeout
    try:
        with client.stream("GET", url) as response:
            if response.status_code >= 400:
                raise _refused(url, f"answered HTTP {response.status_code}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise _refused(
                    url, f"is {int(declared):,} bytes, over the limit of {limit:,}", SIZE
                )
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > limit:
                    raise _refused(url, f"is over the limit of {limit:,} bytes", SIZE)
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout("the whole fetch took too long")
            media = response.headers.get("content-type", "").split(";")[0].strip()
    except httpx.TooManyRedirects:
        hops = config.image_fetch_redirects
        raise _refused(url, f"redirects more than {hops} times", "REDIRECTS") from None
    except httpx.TimeoutException:
        seconds = config.image_fetch_timeout
        raise _refused(url, f"did not arrive within {seconds:g} s", "TIMEOUT") from None
    except (httpx.HTTPError, httpx.InvalidURL, UnicodeError) as exc:  # e.g. a lone surrogate
        raise _refused(url, f"cannot be fetched ({type(exc).__name__}: {exc})") from None
    if not media.startswith("image/"):
        media = "application/octet-stream"  # the model reads what the bytes are
    return f"data:{media};base64,{base64.b64encode(bytes(body)).decode('ascii')}"


def _refused(url: str, why: str, setting: str = "") -> InvalidInput:
    """The refusal of one URL; `setting` names the knob that set the limit it broke."""
    knob = f" (LIKEWISE_IMAGE_FETCH_{setting})" if setting else ""
    return InvalidInput(f"{url!r} {why}{knob}", field="image")
