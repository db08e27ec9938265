"""The helpers import one another without a cycle, read from their source (nothing imported)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("helpers", "fixtures", "guest")


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path, known):
    """The project modules a file imports anywhere in it (a deferred import is an edge too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        found |= {name for name in names if name in known}
    return found


def import_graph():
    files = [p for package in PACKAGES for p in (ROOT / package).rglob("*.py")]
    known = {module_name(p) for p in files}
    graph = {module_name(p): imports_of(p, known) for p in files}
    for name in known:  # importing a.b.c runs a and a.b first
        parent = name.rpartition(".")[0]
        if parent in known:
            graph[name].add(parent)
    return graph


def cycle(graph):
    """One import cycle as a list of modules, or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for after in sorted(graph.get(node, ())):
            if state.get(after) == "open":
                return stack[stack.index(after):] + [after]
            if after not in state and (found := visit(after)):
                return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None


def test_the_graph_sees_the_helpers():
    graph = import_graph()
    assert "helpers.host.imagecache" in graph["helpers.host.target"]
    assert len(graph) > 60


def test_no_module_of_vmiso_imports_itself_back():
    found = cycle(import_graph())
    assert found is None, " -> ".join(found)
