"""The shape of the code, checked: layers import only downward, no import cycles, small modules.

docs/architecture.md draws the same layers; a change that breaks them fails here first.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "feedpipe"
MAX_LINES = 420

# Lowest first. A module may import its own layer and the layers below it, never above.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("core", ("feedpipe.core",)),
    ("parts", ("feedpipe.extract", "feedpipe.tagging", "feedpipe.feeds", "feedpipe.feeds.specs",
               "feedpipe.feeds.entries", "feedpipe.feeds.render", "feedpipe.feeds.jsonfeed", "feedpipe.feeds.opml", "feedpipe.digest.select", "feedpipe.digest.render",
               "feedpipe.digest.message", "feedpipe.digest.editions", "feedpipe.bounces")),
    ("adapters", ("feedpipe.config", "feedpipe.store", "feedpipe.fetch", "feedpipe.mailer", "feedpipe.mail_wire", "feedpipe.files",
                  "feedpipe.feeds.websub", "feedpipe.bounces.mailbox", "feedpipe.bounces.sns")),
    # everything not named elsewhere: app, ingest, pipeline, feeds publishing, digest build and send, scheduler
    ("services", ("feedpipe", "feedpipe.feeds.publish", "feedpipe.bounces.service",
                  "feedpipe.bounces.hooks")),
    ("faces", ("feedpipe.cli", "feedpipe.web", "feedpipe.__main__")),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    """The layer of the longest matching prefix; `feedpipe` itself (the version) counts as core."""
    if module == "feedpipe":
        return 0
    best, rank = -1, 0
    for index, (_name, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), index
    return rank


def imports_of(path: Path) -> set[str]:
    """feedpipe modules imported anywhere in the file (top level or inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("feedpipe")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base.startswith("feedpipe"):
                for alias in node.names:
                    candidate = f"{base}.{alias.name}"
                    found.add(candidate if _is_module(candidate) else base)
    return {m for m in found if m != me}


def _is_module(name: str) -> bool:
    rel = Path(*name.split(".")[1:])
    return (PACKAGE / rel).with_suffix(".py").is_file() or (PACKAGE / rel / "__init__.py").is_file()


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
GRAPH = {name: imports_of(path) for name, path in MODULES.items()}


def test_every_module_is_small_enough_to_read_in_one_sitting():
    long = {name: n for name, path in MODULES.items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_the_core_imports_nothing_else_of_feedpipe():
    for name, deps in GRAPH.items():
        if name.startswith("feedpipe.core"):
            assert all(d.startswith("feedpipe.core") for d in deps), (name, deps)


@pytest.mark.parametrize("name", sorted(GRAPH))
def test_layers_import_only_downward(name):
    mine = layer_of(name)
    upward = {d for d in GRAPH[name] if layer_of(d) > mine}
    assert not upward, f"{name} ({LAYERS[mine][0]}) imports a higher layer: " + ", ".join(
        f"{d} ({LAYERS[layer_of(d)][0]})" for d in sorted(upward))


def test_there_is_no_import_cycle():
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(GRAPH.get(node, ())):
            if dep not in GRAPH:
                continue
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep):] + [dep]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(GRAPH):
        if node not in state:
            visit(node)


def test_no_import_tricks():
    for name, path in MODULES.items():
        text = path.read_text()
        assert "import_module" not in text and "__import__" not in text, f"{name} imports by name"
        assert "def __getattr__(" not in text, f"{name} has a module __getattr__"
