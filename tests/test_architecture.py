"""Architecture rules, read from the source with `ast`: no import cycles, layer arrows that
point one way, and faces (service, CLI, evaluation) that use only the Engine's public API.

Every import statement counts: top level, inside functions (lazy imports) and under
`if TYPE_CHECKING:`. An import names exactly one likewise module; importing `a.b.c` does not
add edges to the `__init__` of `a` or `a.b`.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

PURE = (
    "likewise.profiles",
    "likewise.ranking",
    "likewise.filters",
    "likewise.retrieval",
    "likewise.items",
    "likewise.events",
    "likewise.embedders",
)
FACES = ("likewise.service", "likewise.cli", "likewise.evaluation")
ABOVE_PURE = (
    "likewise.store",
    "likewise.engine",
    "likewise.personal",
    "likewise.training",
    "likewise.recommend",
)

# Layer arrows: a module under the key never imports a module under any of the values.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    **{pure: (*ABOVE_PURE, *FACES) for pure in PURE},
    "likewise.store": (
        "likewise.engine",
        "likewise.personal",
        "likewise.training",
        "likewise.recommend",
        "likewise.ranking",
        *FACES,
    ),
    "likewise": ("likewise.service", "likewise.cli"),  # only a face imports a face ...
    # The HTTP client speaks to a server: it never runs the engine, a store or a model.
    "likewise.client": (
        *ABOVE_PURE,
        *FACES,
        "likewise.embedders",
        "likewise.retrieval",
        "likewise.ranking",
        "likewise.profiles",
        "likewise.copy",
        "likewise.testing",
        "likewise.datasets",
    ),
}
# ... namely these (importer prefix -> what it may import despite the table above).
ALLOWED: dict[str, tuple[str, ...]] = {
    "likewise.service": ("likewise.service",),
    "likewise.cli": ("likewise.cli", "likewise.service"),  # `likewise serve`
    # The client returns the Engine's own types, so it imports the modules that define them
    # (and nothing else of the layers above; `personal` and `engine.checks` are heavy homes
    # for RecordReport and IngestReport, which a lighter module could hold).
    "likewise.client": (
        "likewise.store.base",
        "likewise.recommend.model",
        "likewise.engine.pages",
        "likewise.engine.checks",
        "likewise.engine.feed_report",
        "likewise.personal",
    ),
}

# Import edges (importer, imported) that break a rule in files owned elsewhere, tolerated
# until they are fixed there. Empty this set as they are; an entry that no longer exists fails.
KNOWN_ELSEWHERE: set[tuple[str, str]] = set()

# What a face may not read off an engine (besides any `_private` name).
ENGINE_INTERNALS = frozenset(
    {
        "personal",
        "store",
        "experiments",
        "impressions",
        "similar_cache",
        "embedder",
        "template",
        "settings",
        "tracker",
    }
)

Graph = dict[str, dict[str, int]]  # importer -> {imported: first line}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def sources() -> dict[str, Path]:
    return {module_name(p): p for p in sorted((SRC / "likewise").rglob("*.py"))}


def under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> Iterator[str]:
    """The likewise modules one import statement names."""
    known = sources()
    if isinstance(node, ast.Import):
        yield from (a.name for a in node.names if a.name in known)
        return
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        anchor = package[: len(package) - node.level + 1]
        base = ".".join([*anchor, *([base] if base else [])])
    for alias in node.names:
        full = f"{base}.{alias.name}"
        if full in known:
            yield full
        elif base in known:
            yield base


def imports_of(module: str) -> dict[str, int]:
    path = sources()[module]
    tree = ast.parse(path.read_text(), str(path))
    out: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            for target in imported(node, module, path.name == "__init__.py"):
                if target != module:
                    out.setdefault(target, node.lineno)
    return out


@cache
def graph() -> Graph:
    return {module: imports_of(module) for module in sources()}


def without_known(edges: Graph) -> Graph:
    return {
        a: {b: n for b, n in bs.items() if (a, b) not in KNOWN_ELSEWHERE} for a, bs in edges.items()
    }


def components(edges: Graph) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = {stack.pop()}
            while v not in part:
                part.add(stack.pop())
            if len(part) > 1:
                found.append(part)

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def shortest_path(edges: Graph, start: str, goal: str, within: set[str]) -> list[str]:
    before: dict[str, str] = {}
    queue = deque([start])
    while queue:
        v = queue.popleft()
        if v == goal:
            path = [v]
            while path[-1] != start:
                path.append(before[path[-1]])
            return path[::-1]
        for w in edges.get(v, {}):
            if w in within and w not in before and w != start:
                before[w] = v
                queue.append(w)
    raise AssertionError(f"no path {start} -> {goal}")  # cannot happen inside a component


def cycles(edges: Graph) -> list[str]:
    """One cycle through every edge that lies on a cycle, each as `a -> b -> a`."""
    chains: set[str] = set()
    for part in components(edges):
        for a in part:
            for b in edges[a]:
                if b in part:
                    loop = [a, *shortest_path(edges, b, a, part)]
                    turn = loop.index(min(loop[:-1]))
                    loop = loop[turn:-1] + loop[:turn] + [loop[turn]]
                    chains.add(" -> ".join(loop))
    return sorted(chains)


def test_cycles_are_found_and_printed_as_chains() -> None:
    edges: Graph = {"a": {"b": 1}, "b": {"c": 1, "a": 2}, "c": {"a": 1}, "d": {"a": 1}}
    assert cycles(edges) == ["a -> b -> a", "a -> b -> c -> a"]
    assert cycles({"a": {"b": 1}, "b": {}}) == []


def parsed(text: str) -> ast.Import | ast.ImportFrom:
    node = ast.parse(text).body[0]
    assert isinstance(node, ast.Import | ast.ImportFrom)
    return node


def test_imports_resolve_lazy_relative_and_type_checking_ones() -> None:
    assert "likewise.cli.commands" in sources() and "likewise.store" in sources()
    # `from likewise.service import errors` names the module, not the package.
    assert "likewise.service.errors" in graph()["likewise.service.app"]
    assert "likewise.service" not in graph()["likewise.service.app"]
    assert "likewise.service" in graph()["likewise.cli.serve"]  # a lazy import
    up, here = (parsed(text) for text in ("from ..store import base", "from . import x"))
    assert list(imported(up, "likewise.cli.main", False)) == ["likewise.store.base"]
    assert list(imported(here, "likewise.cli", True)) == ["likewise.cli"]


def test_no_import_cycles() -> None:
    found = cycles(without_known(graph()))
    assert not found, "import cycles:\n  " + "\n  ".join(found)


def test_known_exceptions_still_exist() -> None:
    stale = sorted(e for e in KNOWN_ELSEWHERE if e[1] not in graph().get(e[0], {}))
    assert not stale, f"fixed: remove from KNOWN_ELSEWHERE: {stale}"


def layer_violations(edges: Graph) -> list[str]:
    out = []
    for a, targets in sorted(edges.items()):
        for b, line in sorted(targets.items()):
            for who, never in FORBIDDEN.items():
                allowed = [p for w, ps in ALLOWED.items() if under(a, w) for p in ps]
                if (
                    under(a, who)
                    and any(under(b, p) for p in never)
                    and not any(under(b, p) for p in allowed)
                ):
                    out.append(f"{sources()[a].relative_to(SRC)}:{line}: {a} imports {b}")
    return sorted(set(out))


def test_the_layer_table_names_real_modules() -> None:
    rows = [*FORBIDDEN.items(), *ALLOWED.items()]
    named = {prefix for who, targets in rows for prefix in (who, *targets)}
    assert not [p for p in named if not any(under(m, p) for m in sources())]
    assert layer_violations({"likewise.items.model": {"likewise.store.base": 3}}) != []
    assert layer_violations({"likewise.cli.serve": {"likewise.service": 3}}) == []
    assert layer_violations({"likewise.engine": {"likewise.cli.main": 3}}) != []
    assert layer_violations({"likewise.client.http": {"likewise.engine.core": 3}}) != []
    assert layer_violations({"likewise.client.http": {"likewise.service.app": 3}}) != []
    assert layer_violations({"likewise.client.wire": {"likewise.store.base": 3}}) == []


def test_layers_import_only_downwards() -> None:
    found = layer_violations(without_known(graph()))
    assert not found, "forbidden imports:\n  " + "\n  ".join(found)


def names_an_engine(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id.endswith("engine")
    return isinstance(node, ast.Attribute) and node.attr.endswith("engine")


def internal(attr: str) -> bool:
    return attr in ENGINE_INTERNALS or attr.startswith("_")


def reads_internal(node: ast.expr) -> bool:
    """`engine.store`, `self.engine._x`, or `getattr(engine, "store")`."""
    if isinstance(node, ast.Attribute):
        return names_an_engine(node.value) and internal(node.attr)
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        return False
    args = node.args
    return (
        node.func.id in ("getattr", "setattr", "hasattr", "delattr")
        and len(args) >= 2
        and names_an_engine(args[0])
        and isinstance(args[1], ast.Constant)
        and isinstance(args[1].value, str)
        and internal(args[1].value)
    )


def violations(source: str) -> list[str]:
    """Each place the source reads an engine's internals: `line N: engine.store`."""
    return [
        f"line {node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.expr) and reads_internal(node)
    ]


@pytest.mark.parametrize(
    ("source", "found"),
    [
        pytest.param("engine.store.all_ids()", ["line 1: engine.store"], id="store"),
        pytest.param("x = app.state.engine._x", ["line 1: app.state.engine._x"], id="private"),
        pytest.param("self.engine.personal.seen(u)", ["line 1: self.engine.personal"], id="self"),
        pytest.param('getattr(engine, "settings")', ["line 1: getattr(engine, 'settings')"]),
        pytest.param("engine.recommend(u)\nengine.popular(n=3)", [], id="public"),
        pytest.param("request.app.state.store.x\nEngine._open", [], id="not-an-engine"),
    ],
)
def test_violations_finds_internals(source: str, found: list[str]) -> None:
    assert violations(source) == found


def test_faces_use_only_the_engine_public_api() -> None:
    found = [
        f"{path.relative_to(SRC)}: {v}"
        for module, path in sources().items()
        if any(under(module, face) for face in FACES)
        for v in violations(path.read_text())
    ]
    assert not found, "engine internals read by a face:\n  " + "\n  ".join(found)


def test_only_the_neural_trainer_and_the_image_exporter_import_torch() -> None:
    """torch (the `likewise[neural]` and `likewise[images]` extras) is needed to train the
    neural model and to export the image model once, never to serve either: one module each
    imports it (and `onnx_export`, the one export both use), and onnx's exporter packages
    with it."""
    extra = {"torch", "onnx", "onnxscript"}
    found = set()
    for module, path in sources().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            if any(name.split(".")[0] in extra for name in names):
                found.add(module)
    assert found == {
        "likewise.retrieval.neural_fit",
        "likewise.embedders.image_export",
        "likewise.onnx_export",
    }
