"""`likewise.Client`: a likewise server, called with the embedded Engine's face."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self

from likewise.client.catalog import CatalogCalls
from likewise.client.digests import DigestCalls
from likewise.client.feed import FeedCalls
from likewise.client.retention import RetentionCalls
from likewise.client.segments import SegmentCalls
from likewise.client.tenants import TenantCalls
from likewise.client.wire import (
    blend_weights,
    encode,
    query,
    recommendation,
    segment,
    unsupported,
)
from likewise.engine.pages import EventPage
from likewise.events.model import Event
from likewise.personal import RecordReport
from likewise.recommend.model import Recommendation
from likewise.tracking.experiments import Experiment
from likewise.tracking.report import RateRow

if TYPE_CHECKING:
    import httpx

    from likewise.client.http import Transport

__all__ = ["Client"]

Example = str | Sequence[float]  # an item id, or a vector (of the text space by default)


def _event(event: Event | Mapping[str, Any]) -> dict[str, Any]:
    return event.model_dump(exclude_none=True) if isinstance(event, Event) else dict(event)


def _report(body: Any) -> RecordReport:
    return RecordReport(**{k: int(body[k]) for k in RecordReport().as_dict()})


class Client(DigestCalls, FeedCalls, SegmentCalls, CatalogCalls, RetentionCalls, TenantCalls):
    """A likewise server (`likewise serve`) with the methods, arguments, return types and
    exceptions of the embedded :class:`likewise.Engine`.

    Example:
        >>> with Client("http://localhost:8000", api_key="...") as client:
        ...     client.add_items([{"id": "a1", "title": "Moon landing"}])
        ...     client.record("u1", "a1", "like", event_id="e1")
        ...     client.recommend("u1", n=10)

    Requests share one pool of keep-alive connections (`httpx`); each waits at most
    `timeout` seconds (a number, or an `httpx.Timeout`). A 503 or 429 is retried up to
    `retries` times, after the server's `Retry-After` (at most `max_wait` seconds) or an
    exponential backoff from `backoff` seconds; a lost connection is retried when the request
    is safe to repeat (see `likewise.client.http`). Errors are the Engine's: InvalidInput
    (422, with its `field`), NotFound (404), Conflict or ConfigError (409), StoreUnavailable
    or EmbedderError (503); a refused API key raises Unauthorized; a server that cannot be
    reached, StoreUnavailable naming the URL. `tenant` calls that tenant of the server.

    The HTTP API always logs the lists it serves: `recommend(track=False)` is refused, as is
    every argument the routes do not take (each InvalidInput names it).
    """

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
        tenant: str | None = None,
    ) -> None:
        # httpx is imported here, not with `likewise`: the embedded engine does not need it.
        from likewise.client.http import Transport

        self.transport: Transport = Transport(
            url,
            api_key=api_key,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            max_wait=max_wait,
            max_connections=max_connections,
            transport=transport,
        )
        self._use_tenant(tenant)  # every request for that tenant (X-Likewise-Tenant)

    @property
    def url(self) -> str:
        return self.transport.url

    def __repr__(self) -> str:
        return f"Client({self.url!r})"

    # -- events and profiles ----------------------------------------------------------------

    def record(
        self,
        user_id: str,
        item_id: str,
        type: str,
        *,
        value: float | None = None,
        context: Mapping[str, Any] | None = None,
        timestamp: float | str | None = None,
        event_id: str | None = None,
        recommendation_id: str | None = None,
    ) -> bool:
        """As :meth:`Engine.record` (`POST /v1/events`); repeated on a lost connection only
        with an `event_id` (a resend is then a no-op)."""
        event: dict[str, Any] = {"user_id": user_id, "item_id": item_id, "type": type}
        extra = {
            "value": value,
            "context": context,
            "timestamp": timestamp,
            "event_id": event_id,
            "recommendation_id": recommendation_id,
        }
        event.update({k: v for k, v in extra.items() if v is not None})
        return self.record_event(event).accepted == 1

    def record_event(
        self, event: Event | Mapping[str, Any], *, unknown_items: str | None = None
    ) -> RecordReport:
        """As :meth:`Engine.record_event` (`POST /v1/events` with an object)."""
        body = _event(event)
        return self._events(body, unknown_items, bool(body.get("event_id")))

    def record_many(
        self, events: Iterable[Event | Mapping[str, Any]], *, unknown_items: str | None = None
    ) -> RecordReport:
        """As :meth:`Engine.record_many`: one request (`POST /v1/events` with an array), one
        transaction. Repeated on a lost connection only when every event has an `event_id`."""
        batch = [_event(e) for e in events]
        return self._events(batch, unknown_items, all(e.get("event_id") for e in batch))

    def _events(self, body: Any, unknown_items: str | None, safe: bool) -> RecordReport:
        params = query(unknown_items=unknown_items)
        return _report(
            self.transport.call("POST", "/v1/events", params=params, body=body, idempotent=safe)
        )

    def recommend(
        self,
        user_id: str,
        *,
        n: int = 10,
        strategy: str | None = None,
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
        include_seen: bool = False,
        context: Mapping[str, Any] | None = None,
        track: bool = True,
        weights: Mapping[str, float] | None = None,
        diversity: float | None = None,
        space: str = "text",
        offset: int = 0,
        min_score: float | None = None,
        spaces: Mapping[str, float] | None = None,
    ) -> Recommendation:
        """As :meth:`Engine.recommend` (`GET /v1/users/{id}/recommendations`). The server
        logs every list it serves, so `track=False` is refused."""
        if not track:
            raise unsupported("track", "the HTTP API logs every list it serves")
        params = query(
            where=where,
            exclude=exclude,
            n=n,
            strategy=strategy,
            include_seen=include_seen or None,
            context=None if context is None else encode(context, "context"),
            weights=None if weights is None else encode(weights, "weights"),
            diversity=diversity,
            space=None if space == "text" else space,
            offset=offset or None,
            min_score=min_score,
            spaces=blend_weights(spaces),
        )
        path = f"/v1/users/{segment(user_id, 'user_id')}/recommendations"
        # Not repeated once sent: the server logs each list it serves as an impression.
        body = self.transport.call("GET", path, params=params, idempotent=False)
        return recommendation(body, offset)

    def recommend_from(
        self,
        positive: Sequence[Example] = (),
        negative: Sequence[Example] = (),
        *,
        n: int = 10,
        strategy: str = "average_vector",
        where: Mapping[str, Any] | None = None,
        exclude: Sequence[str] = (),
        min_score: float | None = None,
        user_id: str | None = None,
        context: Mapping[str, Any] | None = None,
        vector: Sequence[float] | Any | None = None,
        space: str = "text",
    ) -> Recommendation:
        """As :meth:`Engine.recommend_from` (`POST /v1/recommend`); vectors may be lists or
        numpy arrays. Repeated on a lost connection unless `user_id` logs the list."""
        body: dict[str, Any] = {
            "positive": list(positive),
            "negative": list(negative),
            "strategy": strategy,
            "n": n,
            "exclude": list(exclude),
        }
        extra = {
            "where": where,
            "min_score": min_score,
            "user_id": user_id,
            "context": context,
            "vector": vector,
            "space": None if space == "text" else space,
        }
        body.update({k: v for k, v in extra.items() if v is not None})
        found = self.transport.call("POST", "/v1/recommend", body=body, idempotent=not user_id)
        return recommendation(found)

    def recommend_group(
        self,
        users: Sequence[str],
        n: int = 10,
        *,
        strategy: str = "average",
        where: Mapping[str, Any] | None = None,
        space: str = "text",
        track: bool = True,
    ) -> Recommendation:
        """As :meth:`Engine.recommend_group` (`POST /v1/groups/recommendations`, which
        always logs the list: `track=False` is refused). Never repeated on a lost
        connection: the list may have been logged."""
        if track is not True:
            raise unsupported("track", "the HTTP API logs every list it serves")
        body: dict[str, Any] = {"users": users, "n": n, "strategy": strategy, "space": space}
        if where is not None:
            body["where"] = where
        if isinstance(users, Sequence) and not isinstance(users, str):
            body["users"] = list(users)
        path = "/v1/groups/recommendations"
        found = self.transport.call("POST", path, body=body, idempotent=False)
        return recommendation(found)

    def track(
        self,
        user_id: str,
        strategy: str,
        items: Sequence[str],
        *,
        context: Mapping[str, Any] | None = None,
        ms: float | None = None,
    ) -> str:
        """As :meth:`Engine.track` (`POST /v1/impressions`); returns the recommendation id.
        The route takes no `ms` (it is refused)."""
        if ms is not None:
            raise unsupported("ms", "the HTTP API times only the lists it makes")
        body: dict[str, Any] = {"user_id": user_id, "strategy": strategy, "items": items}
        if context is not None:
            body["context"] = context
        found = self.transport.call("POST", "/v1/impressions", body=body, idempotent=False)
        return str(found["recommendation_id"])

    def profile(self, user_id: str, *, n: int = 5) -> dict[str, Any]:
        """As :meth:`Engine.profile` (`GET /v1/users/{id}/profile`)."""
        path = f"/v1/users/{segment(user_id, 'user_id')}/profile"
        found: dict[str, Any] = self.transport.call("GET", path, params={"n": n}, idempotent=True)
        return found

    def onboard(self, user_id: str, *, text: str | None = None, items: Sequence[str] = ()) -> None:
        """As :meth:`Engine.onboard` (`POST /v1/users/{id}/onboarding`)."""
        path = f"/v1/users/{segment(user_id, 'user_id')}/onboarding"
        body = {"text": text, "items": list(items)}
        self.transport.call("POST", path, body=body, idempotent=False)

    def forget_user(self, user_id: str) -> dict[str, int]:
        """As :meth:`Engine.forget_user` (`DELETE /v1/users/{id}`): rows deleted per table."""
        path = f"/v1/users/{segment(user_id, 'user_id')}"
        return _counts(self.transport.call("DELETE", path, idempotent=True)["deleted"])

    def delete_user_events(self, user_id: str) -> dict[str, int]:
        """As :meth:`Engine.delete_user_events` (`DELETE /v1/users/{id}/events`)."""
        path = f"/v1/users/{segment(user_id, 'user_id')}/events"
        return _counts(self.transport.call("DELETE", path, idempotent=True)["deleted"])

    def user_events(
        self, user_id: str, *, limit: int = 100, cursor: str | None = None
    ) -> EventPage:
        """As :meth:`Engine.user_events` (`GET /v1/users/{id}/events`)."""
        path = f"/v1/users/{segment(user_id, 'user_id')}/events"
        params = query(limit=limit, cursor=cursor)
        body = self.transport.call("GET", path, params=params, idempotent=True)
        # As stored (the Engine reads them so too): rows recorded before a rule was added
        # would not pass today's validation.
        events = [Event.model_construct(**e) for e in body["events"]]
        return EventPage(events, body["next_cursor"])

    # -- experiments and reports ------------------------------------------------------------

    def create_experiment(
        self,
        name: str,
        variants: Sequence[str],
        *,
        split: str | None = None,
        segment: str | None = None,
    ) -> Experiment:
        """As :meth:`Engine.create_experiment` (`POST /v1/experiments`)."""
        body = {"name": name, "variants": list(variants), "split": split, "segment": segment}
        found = self.transport.call("POST", "/v1/experiments", body=body, idempotent=False)
        return Experiment.from_dict(found)

    def list_experiments(self) -> list[Experiment]:
        """As :meth:`Engine.list_experiments` (`GET /v1/experiments`)."""
        found = self.transport.call("GET", "/v1/experiments", idempotent=True)
        return [Experiment.from_dict(e) for e in found]

    def experiment_report(self, name: str) -> dict[str, Any]:
        """As :meth:`Engine.experiment_report` (`GET /v1/experiments/{name}`)."""
        path = f"/v1/experiments/{segment(name, 'name')}"
        found: dict[str, Any] = self.transport.call("GET", path, idempotent=True)
        return found

    def stop_experiment(self, name: str, *, promote: str | None = None) -> Experiment:
        """As :meth:`Engine.stop_experiment` (`POST /v1/experiments/{name}/stop`)."""
        path = f"/v1/experiments/{segment(name, 'name')}/stop"
        found = self.transport.call("POST", path, body={"promote": promote}, idempotent=False)
        return Experiment.from_dict(found)

    def ctr_report(self, *, group_by: str = "strategy", since: float = 0.0) -> list[RateRow]:
        """As :meth:`Engine.ctr_report` (`GET /v1/reports/ctr`)."""
        params = query(group_by=group_by, since=since or None)
        body = self.transport.call("GET", "/v1/reports/ctr", params=params, idempotent=True)
        return [
            RateRow(r["group"], r["impressions"], r["clicks"], r["conversions"], r["mean_dwell"])
            for r in body["rows"]
        ]

    def activity_report(self, *, since: float = 0.0) -> dict[str, Any]:
        """As :meth:`Engine.activity_report` (`GET /v1/reports/activity`)."""
        params = query(since=since or None)
        body = self.transport.call("GET", "/v1/reports/activity", params=params, idempotent=True)
        return {k: v for k, v in body.items() if k != "since"}  # the route adds it

    def stats(self) -> dict[str, Any]:
        """As :meth:`Engine.stats` (`GET /v1/stats`): the server's store and caches."""
        found: dict[str, Any] = self.transport.call("GET", "/v1/stats", idempotent=True)
        return found

    # -- lifetime ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the pooled connections; the client is unusable after."""
        self.transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _counts(found: Any) -> dict[str, int]:
    return {str(k): int(v) for k, v in found.items()}
