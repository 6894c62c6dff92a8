"""The newsletter half of :class:`likewise.Client`, as `likewise.engine.digest` is the
Engine's: a digest started as a job on the server, its state, and its rows."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from likewise.client.errors import error_from
from likewise.client.wire import segment

if TYPE_CHECKING:
    from likewise.client.http import Transport

__all__ = ["DigestCalls"]


class DigestCalls:
    """`start_digest`, `digest_job` and `digest_rows` over `/v1/digests` (a mixin of
    `Client`, which provides `transport`)."""

    transport: Transport

    def start_digest(
        self,
        name: str,
        n: int = 10,
        *,
        users: Sequence[str] | None = None,
        segment: str | None = None,
        where: Mapping[str, Any] | None = None,
        exclude_sent: bool = True,
        strategy: str | None = None,
    ) -> dict[str, Any]:
        """As :meth:`Engine.start_digest` (`POST /v1/digests`): the job's state."""
        body = {"name": name, "n": n, "users": None if users is None else list(users)}
        body.update(segment=segment, where=where, exclude_sent=exclude_sent, strategy=strategy)
        found: dict[str, Any] = self.transport.call(
            "POST", "/v1/digests", body=body, idempotent=False
        )
        return found

    def digest_job(self, job_id: str) -> dict[str, Any]:
        """As :meth:`Engine.digest_job` (`GET /v1/digests/{id}`)."""
        path = f"/v1/digests/{segment(job_id, 'job_id')}"
        found: dict[str, Any] = self.transport.call("GET", path, idempotent=True)
        return found

    def digest_rows(self, job_id: str) -> Iterator[bytes]:
        """As :meth:`Engine.digest_rows` (`GET /v1/digests/{id}/rows`): the NDJSON in
        chunks, streamed as the server sends it (an error before the first chunk)."""
        path = f"/v1/digests/{segment(job_id, 'job_id')}/rows"
        http = self.transport.http
        request = http.build_request("GET", path)
        response = http.send(request, stream=True)
        if response.status_code >= 400:
            response.read()
            response.close()
            raise error_from(response.status_code, response.json(), f"GET {http.base_url}{path}")

        def chunks() -> Iterator[bytes]:
            try:
                yield from response.iter_bytes()
            finally:
                response.close()

        return chunks()
