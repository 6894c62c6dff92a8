"""Users' properties and segments: the Engine's half that keeps them and says who is in one.

A user's properties are a flat JSON object (`{"country": "DE", "plan": "premium", "age":
34}`: strings, numbers, booleans). A segment is a name and a `where` filter over them, in the
grammar of `filters.py`. Membership is never stored: it is the filter evaluated over the
properties as they are when asked, so a changed property moves a user at once, in every
process. A user with no properties is in the segments whose filter an empty record passes.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from likewise.errors import InvalidInput, NotFound
from likewise.events.model import check_user_id
from likewise.filters import Filter, matches, number, parse_where
from likewise.items.limits import Limits, check_size
from likewise.items.model import check_json
from likewise.personal import Personaliser
from likewise.ranking import ResultCache
from likewise.ranking.context import SEGMENT, ContextRule, targets_segment
from likewise.store import Store
from likewise.tracking import RateRow
from likewise.tracking.experiments import check_name

__all__ = ["MemberCache", "Membership", "Segments", "check_properties", "segment_rates"]

Filters = dict[str, Filter | None]


def check_properties(props: Any, limits: Limits, field: str = "properties") -> dict[str, Any]:
    """A user's properties as stored, or InvalidInput naming the key and the reason. A None
    value is kept: it removes the key when merged."""
    if not isinstance(props, Mapping):
        raise InvalidInput("must be an object of strings, numbers and booleans", field=field)
    check_json(props, field, max_depth=limits.max_depth)
    for key, value in props.items():
        place = f"{field}.{key}"
        if not isinstance(key, str) or not key or key.startswith("$"):
            raise InvalidInput("a key must be a non-empty string not starting with $", field=place)
        if value is None or isinstance(value, bool | str):
            continue
        if isinstance(value, int | float) and number(value) is not None:
            continue
        raise InvalidInput(
            "must be a string, a finite number, a boolean or null (to remove it)", field=place
        )
    try:
        check_size(dict(props), limits.max_metadata_bytes)
    except ValueError as exc:
        raise InvalidInput(str(exc), field=field) from None
    return dict(props)


class Membership:
    """The segments of one user, read when first asked (one store read: their properties and
    every segment's filter) and kept for the rest of the request."""

    def __init__(self, read: Callable[[], frozenset[str]]) -> None:
        self._read = read
        self._names: frozenset[str] | None = None

    def names(self) -> frozenset[str]:
        if self._names is None:
            self._names = self._read()
        return self._names

    def within(self, segment: str) -> bool:
        return segment in self.names()


class MemberCache:
    """Each user's segments, kept while their version in the cache of hot lists is what it
    was when read (their own writes and anything that stales every list, a segment's
    change or another server's write included, move it), for at most the cache's `ttl`;
    LRU, as large as that cache."""

    def __init__(self, lists: ResultCache[Any]) -> None:
        self.lists = lists
        self._entries: OrderedDict[str, tuple[Hashable, float, frozenset[str]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, user_id: str) -> frozenset[str] | None:
        with self._lock:
            found = self._entries.get(user_id)
            if found is None:
                return None
            version, at, names = found
            if version == self.lists.version(user_id) and time.monotonic() - at < self.lists.ttl:
                self._entries.move_to_end(user_id)
                return names
            del self._entries[user_id]
            return None

    def read(self, user_id: str, load: Callable[[], frozenset[str]]) -> frozenset[str]:
        """`load` the user's segments and keep them under the version read before it (a
        write in between leaves them stale)."""
        version = self.lists.version(user_id)
        names = load()
        if self.lists.enabled:
            with self._lock:
                self._entries[user_id] = (version, time.monotonic(), names)
                self._entries.move_to_end(user_id)
                while len(self._entries) > self.lists.size:
                    self._entries.popitem(last=False)
        return names


class Segments:
    """Properties, segments and who is in them. Mixed into the Engine, which owns `store`,
    `limits` and `personal` (whose cache of hot lists versions each user)."""

    store: Store
    limits: Limits
    personal: Personaliser

    # -- properties -------------------------------------------------------------------------

    def set_user_properties(
        self, user_id: str, properties: Mapping[str, Any], *, replace: bool = False
    ) -> dict[str, Any]:
        """Set a user's properties: merged into the stored ones (a null value removes its
        key), or with `replace` instead of them. Returns the properties now stored.

        Example:
            >>> engine.set_user_properties("u1", {"country": "DE", "plan": "premium"})
        """
        check_user_id(user_id, self.limits.max_id_length)
        props = check_properties(properties, self.limits)
        self.store.put_user_properties([(user_id, props)], replace=replace)
        self.personal.cache.touch_user(user_id)  # their segments, and so their lists
        return self.user_properties(user_id)

    def set_many_user_properties(
        self, records: Iterable[Mapping[str, Any]], *, replace: bool = False
    ) -> int:
        """Set the properties of many users in one transaction, from records `{"id": ...,
        "properties": {...}}` (the lines of `likewise users load`); all valid or nothing is
        written, a bad one named by its position (`users[3].properties.age`). Returns how
        many records were written."""
        rows = [self._user_record(r, f"users[{k}]") for k, r in enumerate(records)]
        if rows:
            self.store.put_user_properties(rows, replace=replace)
            self.personal.cache.touch_user(*(u for u, _ in rows))
        return len(rows)

    def check_user_records(
        self, records: Sequence[Mapping[str, Any]]
    ) -> list[tuple[int, InvalidInput]]:
        """Every record of :meth:`set_many_user_properties` that would be refused, by
        position, with why (its field as in the record: `properties.age`); nothing is
        written (a file load reports them all before it writes any)."""
        problems = []
        for k, record in enumerate(records):
            try:
                self._user_record(record, "")
            except InvalidInput as exc:
                problems.append((k, exc))
        return problems

    def _user_record(self, record: Any, where: str) -> tuple[str, dict[str, Any]]:
        """A record's user id and checked properties; InvalidInput names the field under
        `where` (the record's place in a batch, or "" for a line of a file)."""

        def at(name: str) -> str:
            return f"{where}.{name}" if where else name

        if not isinstance(record, Mapping):
            shape = 'must be an object {"id": ..., "properties": {...}}'
            raise InvalidInput(shape, field=where or None)
        unknown = sorted(set(record) - {"id", "properties"})
        if unknown:
            raise InvalidInput("unknown key; use id and properties", field=at(unknown[0]))
        try:
            user_id = check_user_id(record.get("id"), self.limits.max_id_length)
        except InvalidInput as exc:
            raise InvalidInput(exc.reason, field=at("id")) from None
        return user_id, check_properties(record.get("properties"), self.limits, at("properties"))

    def user_properties(self, user_id: str) -> dict[str, Any]:
        """A user's properties (empty if none were set)."""
        check_user_id(user_id)
        return self.store.user_properties([user_id]).get(user_id, {})

    # -- segments ---------------------------------------------------------------------------

    def create_segment(self, name: str, where: Mapping[str, Any]) -> dict[str, Any]:
        """Create or replace the segment `name`: the users whose properties pass `where`
        (e.g. `{"plan": "premium", "country": {"in": ["DE", "AT"]}}`). Returns `{"name",
        "where", "created"}` (`created` false when it replaced one)."""
        check_name(name, "name")
        check_json(where, "where", max_depth=self.limits.max_depth)
        if where is None:
            raise InvalidInput("must be a filter object", field="where")
        parse_where(where)
        created = self.store.put_segment(name, where)
        self.personal.cache.touch_all()  # anyone's segments may have changed
        return {"name": name, "where": dict(where), "created": created}

    def list_segments(self) -> list[dict[str, Any]]:
        """Every segment (`{"name", "where"}`), by name."""
        return [{"name": n, "where": w} for n, w in self.store.segments().items()]

    def delete_segment(self, name: str) -> None:
        """Delete a segment (NotFound if there is none of that name). An experiment or a
        context rule that names it then matches no user."""
        check_name(name, "name")
        if not self.store.delete_segment(name):
            raise NotFound("segment", name)
        self.personal.cache.touch_all()

    def segment_users(self, name: str, *, batch: int = 1_000) -> Iterator[str]:
        """The ids of the users in segment `name`, in id order, read `batch` at a time as
        the caller iterates (only users with properties are listed). NotFound at the call
        when there is no such segment."""
        check_name(name, "name")
        where = self.store.segments().get(name)
        if where is None:
            raise NotFound("segment", name)
        return self._members(parse_where(where), batch)

    def _members(self, node: Filter | None, batch: int) -> Iterator[str]:
        after = ""
        while page := self.store.properties_page(after=after, limit=batch):
            yield from (u for u, props in page if matches(node, props))
            after = page[-1][0]

    def user_segments(self, user_id: str) -> list[str]:
        """The segments `user_id` is in now, by name."""
        check_user_id(user_id)
        return sorted(self._membership(user_id).names())

    def _targeted(
        self,
        context: Mapping[str, Any] | None,
        member: Membership,
        rules: Sequence[ContextRule],
    ) -> Mapping[str, Any] | None:
        """The context the rules see: with the user's segments as `segment` when a rule
        targets one (the request's own `segment` is replaced: a caller cannot claim one)."""
        if not targets_segment(rules):
            return context
        return {**(context or {}), SEGMENT: sorted(member.names())}

    def _session_context(
        self, context: Mapping[str, Any] | None, user_id: str | None
    ) -> Mapping[str, Any] | None:
        """A session's list (`recommend_from`) is targeted as a user's: by the segments of
        `user_id`, none without one (the request's own `segment` is never taken)."""
        member = self._membership(user_id) if user_id else Membership(frozenset)
        return self._targeted(context, member, self.personal.ranker.rules)

    def _membership(self, user_id: str) -> Membership:
        """The user's segments when first asked for: from the cache while their version
        holds, else one store read (their properties and every segment's filter)."""
        cache: MemberCache | None = self.__dict__.get("_member_cache")
        if cache is None:
            cache = self.__dict__["_member_cache"] = MemberCache(self.personal.cache)
        members = cache

        def load() -> frozenset[str]:
            return self._segments_of(*self.store.segment_inputs(user_id))

        def read() -> frozenset[str]:
            found = members.get(user_id)
            return members.read(user_id, load) if found is None else found

        return Membership(read)

    def _segments_of(
        self, props: Mapping[str, Any], segments: Mapping[str, Mapping[str, Any]]
    ) -> frozenset[str]:
        return frozenset(
            name for name, where in segments.items() if matches(self._filter(where), props)
        )

    def _filter(self, where: Mapping[str, Any]) -> Filter | None:
        """A segment's parsed filter, kept by its text (segments are few; parsing per request
        is what this saves)."""
        compiled: dict[str, Filter | None] = self.__dict__.setdefault("_compiled", {})
        key = json.dumps(where, sort_keys=True)
        node = compiled.get(key)
        if node is None and key not in compiled:
            if len(compiled) > 1_000:
                compiled.clear()
            node = compiled[key] = parse_where(where)
        return node


def segment_rates(
    rows: Iterable[tuple[str, str, int, int, int, float, int]],
    props: Mapping[str, Mapping[str, Any]],
    filters: Filters,
    *,
    by_strategy: bool,
) -> list[RateRow]:
    """Per segment (or "SEGMENT STRATEGY"): the users' counts summed, each user counted in
    every segment their current properties put them in (so the rows may add up to more
    lists than were shown); users in no segment are left out."""
    sums: dict[str, list[float]] = {}
    for user, strategy, n, clicked, converted, dwell, dwelled in rows:
        mine = props.get(user, {})
        for name, node in filters.items():
            if matches(node, mine):
                group = f"{name} {strategy}" if by_strategy else name
                acc = sums.setdefault(group, [0, 0, 0, 0.0, 0])
                for k, value in enumerate((n, clicked, converted, dwell, dwelled)):
                    acc[k] += value
    return [
        RateRow(g, int(a[0]), int(a[1]), int(a[2]), a[3] / a[4] if a[4] else None)
        for g, a in sorted(sums.items())
    ]
