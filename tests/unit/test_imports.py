"""The helpers import one another without a cycle and only downwards, along the layers written in
helpers/__init__.py (LAYERS); the pure packages reach no library that needs libvirt's C library or
a host to talk to. All read from their source (nothing imported); every unit test module imports
without those libraries, as `make unit` installs none of them."""

import ast
import subprocess
import sys
from pathlib import Path

from helpers import LAYERS, layer_of, package_of

ROOT = Path(__file__).resolve().parents[2]
UNIT_TESTS = Path(__file__).resolve().parent
PACKAGES = ("helpers", "fixtures", "guest")
# Pure logic: what a verdict, a report, a template or a version means. `make unit` tests them with
# the wheels of requirements-unit.txt alone.
PURE = ("helpers.local", "helpers.template", "helpers.verdict", "helpers.patches", "helpers.policy",
        "helpers.output")
HEAVY = ("libvirt", "paramiko", "testinfra")


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(path):
    """Every module name a file imports anywhere in it (a deferred import counts too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found |= {f"{node.module}.{alias.name}" for alias in node.names} | {node.module}
    return found


def imports_of(path, known):
    """The project modules a file imports."""
    return imported_names(path) & known


def heavy_imports_of(path):
    """The heavy libraries (HEAVY) a file imports itself."""
    return {name.split(".")[0] for name in imported_names(path)} & set(HEAVY)


def project_files():
    return [p for package in PACKAGES for p in (ROOT / package).rglob("*.py")]


def import_graph():
    files = project_files()
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
    assert "helpers.vm.imagecache" in graph["helpers.vm.target"]
    assert len(graph) > 60


def reaching_heavy(graph, heavy, start):
    """The import chain from `start` to the first module that imports a heavy library, or None."""
    came_from, queue = {start: None}, [start]
    while queue:
        module = queue.pop(0)
        if heavy.get(module):
            chain = [module]
            while came_from[chain[-1]]:
                chain.append(came_from[chain[-1]])
            return list(reversed(chain)) + sorted(heavy[module])
        for after in sorted(graph.get(module, ())):
            if after not in came_from:
                came_from[after] = module
                queue.append(after)
    return None


def test_the_chain_finder_follows_imports_to_a_heavy_library():
    graph = {"a": {"b"}, "b": {"c"}, "c": set(), "d": set()}
    assert reaching_heavy(graph, {"c": {"libvirt"}}, "a") == ["a", "b", "c", "libvirt"]
    assert reaching_heavy(graph, {"c": {"libvirt"}}, "d") is None


def test_pure_packages_reach_no_libvirt_paramiko_or_testinfra():
    graph = import_graph()
    heavy = {module_name(p): heavy_imports_of(p) for p in project_files()}
    pure = sorted(m for m in graph if any(m == p or m.startswith(p + ".") for p in PURE))
    assert len(pure) > 30, "the pure packages were not found"
    chains = [" -> ".join(chain) for m in pure if (chain := reaching_heavy(graph, heavy, m))]
    assert not chains, "a pure module reaches a heavy library: " + "; ".join(chains)


BLOCKED_IMPORT = """
import importlib.abc, importlib.util, sys
class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {heavy!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (make unit installs none)")
sys.meta_path.insert(0, Blocked())
sys.path[:0] = [{root!r}, {unit!r}]
for path in sys.argv[1:]:
    name = path.rsplit("/", 1)[-1].removesuffix(".py")
    spec = importlib.util.spec_from_file_location(name, path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
"""


def test_every_unit_test_module_imports_without_the_heavy_libraries():
    """What `make unit` collects in a fresh clone, here even where .venv has libvirt."""
    code = BLOCKED_IMPORT.format(heavy=set(HEAVY), root=str(ROOT), unit=str(UNIT_TESTS))
    modules = sorted(str(p) for p in UNIT_TESTS.glob("test_*.py"))
    proc = subprocess.run([sys.executable, "-c", code, *modules], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_no_module_of_vmiso_imports_itself_back():
    found = cycle(import_graph())
    assert found is None, " -> ".join(found)


def back_edges(graph):
    """Every import that does not point down the layers: 'a -> b (why)'. The root package
    (helpers, which holds LAYERS) is below every layer."""
    found = []
    for module, imported in sorted(graph.items()):
        for after in sorted(imported):
            if after == "helpers" or package_of(module) == package_of(after):
                continue
            low, high = layer_of(after), layer_of(module)
            if low is None or high is None:
                unplaced = module if high is None else after
                found.append(f"{unplaced}: in no package of helpers.LAYERS; add its package")
            elif low >= high:
                found.append(f"{module} -> {after} ({package_of(module)}, layer {high}, may not "
                             f"import {package_of(after)}, layer {low})")
    return sorted(set(found))


def test_the_layering_check_finds_an_import_that_points_up_or_sideways():
    graph = {"helpers.verdict.catalog": {"helpers.plugin.options"},
             "helpers.patches.versions": {"helpers.verdict.catalog", "helpers.template.rules"},
             "helpers.vm.launch": {"helpers.host.qmp", "helpers"}}
    assert back_edges(graph) == [
        "helpers.patches.versions -> helpers.verdict.catalog (helpers.patches, layer 3, may not "
        "import helpers.verdict, layer 3)",
        "helpers.verdict.catalog -> helpers.plugin.options (helpers.verdict, layer 3, may not "
        "import helpers.plugin, layer 11)"]
    assert back_edges({"helpers.newthing.x": {"helpers.local.command"}}) == [
        "helpers.newthing.x: in no package of helpers.LAYERS; add its package"]


def test_every_package_is_placed_once_in_the_layers():
    packages = [p for layer in LAYERS for p in layer]
    assert len(packages) == len(set(packages))
    on_disk = {module_name(p.parent) for p in project_files() if p.name == "__init__.py"}
    assert not {m for m in on_disk if m != "helpers" and package_of(m) is None}


def test_imports_point_down_the_layers():
    edges = back_edges(import_graph())
    assert not edges, "imports that do not point down helpers.LAYERS:\n" + "\n".join(edges)


def test_the_checkout_is_where_vmiso_runs_from():
    from helpers import CHECKOUT
    assert CHECKOUT == ROOT and (CHECKOUT / "catalog" / "controls.toml").is_file()


def test_no_module_counts_its_own_depth_to_find_the_checkout():
    """helpers.CHECKOUT names the checkout once; a module that counts Path(__file__).parents
    breaks when it moves (the clipboard's SPICE client ran from helpers/ once)."""
    counting = [str(p.relative_to(ROOT)) for p in project_files()
                if "__file__).resolve().parents[" in p.read_text()]
    assert counting == []
