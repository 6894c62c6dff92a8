"""`schemathesis run --checks all` against a live `likewise serve` on loopback, as an outside
probe runs it: the document read from the server (`openapi.from_url`), then schemathesis's
own engine through every phase it has (examples, coverage, fuzzing, and the stateful phase
over the links it infers), positive and negative data, with a write key.

The checks are every one schemathesis registers (listed by name below, so a release that adds
one fails the comparison instead of leaving it out), plus one of ours over every response: a
400 or 422 names the field it rejects. A check may be set aside for a case only where the
document cannot state the rule the server applies (see `_set_aside`).

Derandomized (a fixed seed, deterministic generation, one worker): CI sends the same requests
every run, save the few the stateful phase builds from responses (a recommendation_id is
random), about 6,600 in all. The cases and the seconds they took are written to the terminal.
"""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis import checks
from schemathesis.engine import events, from_schema
from tests.service.conftest import CATALOG, must_differ
from tests.service.test_http_soak import free_port, start

from likewise import Engine

KEY = "fuzz-live-write-key-0123456789"
EXAMPLE_ITEMS = [  # the ids the document's examples use
    {"id": "a1", "title": "Rocket reaches the moon", "tags": ["space"], "category": "news"},
    {"id": "a2", "title": "Tomato soup"},
]
# A request the document allows may get 401/403 (keys), 404 (a path or body naming a thing
# not stored) or 409 (valid, but the state cannot serve it: no model yet); never a 422.
ACCEPTED = ["2xx", "401", "403", "404", "409"]
CONFIG = schemathesis.Config.from_dict(
    {
        "headers": {"Authorization": f"Bearer {KEY}"},
        "seed": 18,
        "workers": 1,  # two change the order the store sees writes in, so the cases too
        "generation": {"deterministic": True, "max-examples": 10},
        "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}},
    }
)
# Every check schemathesis 4 registers: what `--checks all` runs. max_response_time is a
# timing threshold, which a test may not hold: it is off unless given a limit.
ALL_CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
    "object_level_authorization",
]


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx: object, value: object) -> bytes:
    """The document gives an NDJSON body's lines as an array: one element per line."""
    if isinstance(value, list):
        return "".join(json.dumps(v) + "\n" for v in value).encode("utf-8")
    return str(value).encode("utf-8")  # the examples are written as text


def _seed(data: Path) -> None:
    """A catalog with the document's example ids, events and a trained model, so generated
    requests reach the real work and not only the 404s and 409s."""
    with Engine.open(str(data), model="hashing-64") as engine:
        engine.add_items(CATALOG + EXAMPLE_ITEMS)
        ids = [i["id"] for i in CATALOG + EXAMPLE_ITEMS]
        engine.record_many(
            {"user_id": f"u{k % 3}", "item_id": ids[k % len(ids)], "type": "like", "timestamp": k}
            for k in range(18)
        )
        engine.train()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A seeded store behind `likewise serve` with a write key; the URL and the server's log."""
    folder = tmp_path_factory.mktemp("live")
    _seed(folder / "data")
    port = free_port()
    log = folder / "server.log"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LIKEWISE_WRITE_KEYS", json.dumps([KEY]))
        proc = start(folder / "data", port, log=log)
    try:
        yield f"http://127.0.0.1:{port}", log
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


@dataclass
class Run:
    """What the engine did: every request and its response, and each failed check."""

    operations: set[str] = field(default_factory=set)
    phases: Counter[str] = field(default_factory=Counter)
    modes: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    set_aside: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        cases = sum(self.phases.values())
        phases = ", ".join(f"{n} {p}" for p, n in self.phases.most_common())
        modes = ", ".join(f"{n} {m}" for m, n in self.modes.most_common())
        return (
            f"schemathesis --checks all (+1), live: {cases} cases ({phases}; {modes}) on "
            f"{len(self.operations)} operations in {self.seconds:.1f} s; "
            f"statuses {dict(sorted(self.statuses.items()))}; set aside {dict(self.set_aside)}"
        )


def _set_aside(check: str, case: schemathesis.Case, response: Any) -> str | None:
    """Why `check` does not hold for this case by design, or None. Only positive data
    acceptance, and only for rules the descriptions state and JSON Schema cannot (the server
    answers 422 naming the field):
    - ids in a list must differ (`uniqueItems` compares whole elements);
    - recommendForUser's `weights`/`diversity` tune the hybrid only, and `space` applies
      to the profile strategies only;
    - similarItems' `space` must be one the store has, and replaces `source`; so must every
      space of `spaces`, and recommendForUser's and a group's `space`, and a session's
      `space` (whose `vector` has that space's dimension; without one, `positive` must not
      be empty);
    - an item's own `vectors` must name spaces the store has, of their dimensions, and its
      `image_data` must decode to a picture (a 422 naming `vectors.SPACE` or `image_data`).
    (Onboarding from text or items the model places nowhere is valid and a 409.)
    And the stateful phase's resource check, for a stop that promotes a variant the new
    experiment does not have: the 404 names `promote`, not the experiment, and the variants
    are the names its creation gave, which no schema can list."""
    if check == "ensure_resource_availability" and _error_field(response) == "promote":
        return "a variant the experiment does not have"
    if check != "positive_data_acceptance":
        return None
    path = case.operation.path
    keys = must_differ(case.body, path)
    if keys is not None and len(set(map(str, keys))) != len(keys):
        return "ids that must differ"
    # Spaces are the store's state (/v1/spaces), which no schema can list; and a space
    # replaces the source, so the two together are refused naming `space`.
    similar = path == "/v1/items/{item_id}/similar" and "space" in (case.query or {})
    if similar and _error_field(response) == "space":
        return "a space the store lacks, or with a source"
    if "spaces" in (case.query or {}) and _error_field(response) == "spaces":
        return "spaces the store lacks, or weights that blend nothing"
    field = _error_field(response) or ""
    if path == "/v1/digests" and field == "segment":  # its users, or listed ones: not both
        return "users and a segment together"
    if path in ITEM_WRITES and ("vectors" in field or "image_data" in field):
        return "an item's own vectors (of spaces the store has) or image bytes (a picture)"
    body = case.body if isinstance(case.body, dict) else {}
    session = "space" in body or "vector" in body or not body.get("positive")
    if path == "/v1/recommend" and session and _error_field(response) in SESSION_FIELDS:
        return "a session's space the store lacks, its vector's dimension, or no positive"
    if path == "/v1/groups/recommendations" and _error_field(response) == "space":
        return "a group's space the store lacks"
    if path == "/v1/users/{user_id}/recommendations":
        query = case.query or {}
        strategy = query.get("strategy")
        tuned = "weights" in query or "diversity" in query
        if tuned and strategy not in (None, "hybrid"):
            return "weights or diversity without the hybrid"
        blend = strategy in ("hybrid", "popular") or (tuned and strategy is None)
        if blend and query.get("space", "text") != "text":
            return "a space for a blend"
        if _error_field(response) == "space" and query.get("space") not in ("text", "behaviour"):
            return "a space the store lacks"
    return None


SESSION_FIELDS = ("space", "vector", "positive")
ITEM_WRITES = ("/v1/items/{item_id}", "/v1/items:batch", "/v1/feed")


def _error_field(response: Any) -> str | None:
    """The field an error response names, if it is one."""
    try:
        error = json.loads(response.content)["error"]
    except (ValueError, KeyError, TypeError):
        return None
    return error.get("field") if isinstance(error, dict) else None


def _names_its_field(response: Any) -> str | None:
    """Our check: a 400 or 422 is about an input, and its error names which."""
    if response is None or response.status_code not in (400, 422):
        return None
    error = json.loads(response.content)["error"]
    return None if error.get("field") else f"{response.status_code} naming no field: {error}"


def _record(run: Run, finished: events.ScenarioFinished) -> None:
    recorder = finished.recorder
    if finished.phase.value in ("examples", "coverage", "fuzzing"):  # one operation each
        run.operations.add(recorder.label)
    run.phases[finished.phase.value] += len(recorder.interactions)
    for case_id, interaction in recorder.interactions.items():
        case = recorder.cases[case_id].value
        response = interaction.response
        run.modes[case.meta.generation.mode.value if case.meta else "explicit"] += 1
        where = f"{interaction.request.method} {interaction.request.uri[:300]}"
        if response is None:
            run.failures.append(f"{where}: no response")
            continue
        run.statuses[response.status_code] += 1
        unnamed = _names_its_field(response)
        if unnamed:
            run.failures.append(f"{where}: {unnamed}")
        for check in recorder.checks.get(case_id, []):
            if check.failure_info is None:
                continue
            reason = _set_aside(check.name, case, response)
            if reason:
                run.set_aside[reason] += 1
                continue
            failure = check.failure_info.failure
            body = (interaction.request.body or b"")[:300]
            run.failures.append(
                f"{where} {body!r}: {check.name}: {failure.title}: {failure.message} -> "
                f"{response.status_code} {response.content[:300]!r}"
            )


def _show(request: pytest.FixtureRequest, line: str) -> None:
    """`line` on the terminal, past pytest's capture: the lead reports these numbers."""
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(line)


def test_every_check_schemathesis_has_is_run() -> None:
    checks.load_all_checks()
    assert [c.__name__ for c in checks.CHECKS.get_all()] == ALL_CHECKS
    config = CONFIG.projects.get_default().checks_config_for()
    assert all(config.get_by_name(name=name).enabled for name in ALL_CHECKS)


def test_the_live_server_passes_every_check(
    server: tuple[str, Path], request: pytest.FixtureRequest
) -> None:
    url, log = server
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json", config=CONFIG)
    run = Run()
    started = time.monotonic()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            _record(run, event)
        elif isinstance(event, events.NonFatalError | events.FatalError):
            run.errors.append(repr(event))
    run.seconds = time.monotonic() - started
    _show(request, run.summary())
    assert run.errors == []
    assert run.failures == [], "\n".join(run.failures[:20])
    paths = schema.raw_schema["paths"]
    assert run.operations == {f"{m.upper()} {p}" for p, methods in paths.items() for m in methods}
    assert sum(run.phases.values()) > 2_000 and run.modes["negative"] > 1_000
    assert {s // 100 for s in run.statuses} == {2, 4}  # real work, and refusals; no 5xx
    text = log.read_text()
    assert "Traceback" not in text and "unhandled error" not in text, text[-5000:]
