"""The dependency direction of DESIGN.md, checked by reading every import in src/calmtrace.

errors <- recording, events <- store, formats, devices, signals <- loader, capture <- analysis
<- sessions <- report <- cli, batch

In words: devices/ never imports signals/ or report/; signals/ never imports devices/, report/ or
cli; report/ never imports devices/; nothing imports cli; formats/ may use signals/ecg.py; bleak and
bumble are imported only inside devices/, plotly only inside report/.

The report only renders analysis results: followed transitively, through every import including
those inside functions, report/ reaches nothing in devices/, formats/, store, loader, capture, the
analysis pipeline (analysis) or the session collection (sessions).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "calmtrace"

# Layer of each top-level part; a module may import only parts of a lower layer, or its own part.
# (A Recording holds Events, so events sits just below recording.)
LAYER = {
    "_version": 0, "errors": 0,
    "events": 1, "recording": 2,
    "store": 3, "formats": 3, "devices": 3, "signals": 3,
    "loader": 4, "capture": 4,
    "analysis": 5,   # analyze() also takes a path, which it loads
    "sessions": 6,
    "report": 7, "live": 7,
    "batch": 8, "cli": 9, "__main__": 10,
}
# Same-layer imports that DESIGN.md allows: formats/ may turn ECG into beats with signals/ecg.
ALLOWED_SIDEWAYS = {("formats", "signals.ecg")}
# Lower-layer imports that DESIGN.md still forbids: report/ never imports devices/.
FORBIDDEN = {("report", "devices"), ("report", "sessions")}
# What report/ must not reach, directly or through any chain of imports.
REPORT_NEVER_REACHES = ("devices", "formats", "store", "loader", "capture", "analysis", "sessions")
THIRD_PARTY_HOME = {"bleak": "devices", "bumble": "devices", "plotly": "report"}


def _imports(rel: Path, source: str) -> list[tuple[int, str]]:
    """(line, dotted module) of each import in a module at ``rel`` below src/calmtrace."""
    pkg = list(rel.parts[:-1])
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if not node.level:
                out.append((node.lineno, node.module or ""))
                continue
            base = pkg[: len(pkg) - (node.level - 1)]
            if node.module:
                out.append((node.lineno, ".".join(["calmtrace"] + base + [node.module])))
            else:
                out += [(node.lineno, ".".join(["calmtrace"] + base + [a.name])) for a in node.names]
    return out


def violations(rel: Path, source: str) -> list[str]:
    """Every import in ``source`` (the module at ``rel``) that breaks the dependency direction."""
    me = rel.parts[0].removesuffix(".py")
    found = []
    for line, mod in _imports(rel, source):
        top = mod.split(".")[0]
        if top in THIRD_PARTY_HOME:
            if me != THIRD_PARTY_HOME[top]:
                found.append(f"{rel}:{line} imports {top}, which belongs only in {THIRD_PARTY_HOME[top]}/")
            continue
        if top != "calmtrace":
            continue
        target = mod.removeprefix("calmtrace").lstrip(".")
        if not target:
            found.append(f"{rel}:{line} imports the calmtrace package itself; import the module it needs")
            continue
        tpart = target.split(".")[0]
        if tpart == "cli" and me != "__main__":
            found.append(f"{rel}:{line} imports cli; nothing imports cli")
            continue
        if tpart == me or any(me == a and (target == b or target.startswith(b + ".")) for a, b in ALLOWED_SIDEWAYS):
            continue
        if (me, tpart) in FORBIDDEN:
            found.append(f"{rel}:{line} imports {target}: {me}/ never imports {tpart}/ (DESIGN.md)")
            continue
        if tpart not in LAYER:
            continue  # a name imported from a package __init__, checked where it is defined
        if LAYER[tpart] >= LAYER[me]:
            found.append(f"{rel}:{line} imports {target} ({tpart}, layer {LAYER[tpart]}) from {me} "
                         f"(layer {LAYER[me]}): the flow goes one way (DESIGN.md)")
    return found


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if p != SRC / "__init__.py")


def test_every_module_has_a_layer() -> None:
    for p in _modules():
        part = p.relative_to(SRC).parts[0].removesuffix(".py")
        assert part in LAYER, f"{p.relative_to(SRC)}: add its part {part!r} to LAYER in this test and DESIGN.md"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_imports_follow_the_dependency_direction(path: Path) -> None:
    assert violations(path.relative_to(SRC), path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("rel, source, expected", [
    ("devices/ble.py", "from ..signals import hrv\n", "imports signals"),
    ("signals/hrv.py", "from calmtrace.devices.hrs import parse\n", "imports devices.hrs"),
    ("signals/hrv.py", "import plotly.graph_objects as go\n", "belongs only in report/"),
    ("report/html.py", "from ..devices import ble\n", "imports devices"),
    ("store.py", "from .analysis import analyze\n", "imports analysis"),
    ("report/html.py", "from .. import cli\n", "nothing imports cli"),
    ("capture.py", "import bleak\n", "belongs only in devices/"),
])
def test_the_checker_catches_wrong_imports(rel: str, source: str, expected: str) -> None:
    found = violations(Path(rel), source)
    assert len(found) == 1 and expected in found[0]


def test_the_checker_allows_what_design_allows() -> None:
    assert violations(Path("formats/polar_ecg.py"), "from ..signals.ecg import detect_beats\n") == []
    assert violations(Path("report/html.py"), "from ..signals import recovery\nimport plotly\n") == []
    assert violations(Path("devices/ble.py"), "import bleak\nfrom ..errors import DeviceError\n") == []


# -- transitive: what report/ reaches ----------------------------------------------------------------
def _module_name(p: Path) -> str:
    rel = p.relative_to(SRC).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(["calmtrace"] + parts)


def _graph() -> dict[str, set[str]]:
    """calmtrace module -> calmtrace modules it imports anywhere (top level or inside functions).

    ``from pkg import name`` counts ``pkg.name`` when that is a module; importing ``a.b.c`` also
    runs the packages ``a`` and ``a.b``.
    """
    files = {_module_name(p): p for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for mod, p in files.items():
        rel = p.relative_to(SRC)
        tree = ast.parse(p.read_text(encoding="utf-8"))
        pkg = list(rel.parts[:-1])
        found: set[str] = set()
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = ".".join(["calmtrace"] + pkg[: len(pkg) - (node.level - 1)])
                    target = f"{base}.{node.module}" if node.module else base
                else:
                    target = node.module or ""
                names = [target] + [f"{target}.{a.name}" for a in node.names]
            for n in names:
                if not n.startswith("calmtrace"):
                    continue
                parts = n.split(".")
                for k in range(1, len(parts) + 1):
                    cand = ".".join(parts[:k])
                    if cand in files and cand != mod:
                        found.add(cand)
        graph[mod] = found
    return graph


def reached_from(start: str, graph: dict[str, set[str]]) -> dict[str, list[str]]:
    """Every module reachable from ``start``, with one import chain leading to it."""
    chains = {start: [start]}
    todo = [start]
    while todo:
        m = todo.pop()
        for n in sorted(graph.get(m, ())):
            if n not in chains:
                chains[n] = chains[m] + [n]
                todo.append(n)
    return chains


def _forbidden_reach(start: str, graph: dict[str, set[str]]) -> list[str]:
    out = []
    for mod, chain in reached_from(start, graph).items():
        part = mod.split(".")[1] if mod.count(".") else ""
        if part in REPORT_NEVER_REACHES:
            out.append(" -> ".join(chain))
    return out


@pytest.mark.parametrize("path", sorted((SRC / "report").rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_report_reaches_no_device_loading_or_pipeline_code_transitively(path: Path) -> None:
    graph = _graph()
    graph.pop("calmtrace", None)   # the package's lazy API names every module; it is not imported by name here
    assert _forbidden_reach(_module_name(path), graph) == []


def test_the_transitive_checker_follows_imports_inside_functions() -> None:
    graph = {
        "calmtrace.report.x": {"calmtrace.signals.y"},
        "calmtrace.signals.y": {"calmtrace.loader"},   # e.g. an import inside a function
        "calmtrace.loader": {"calmtrace.devices.timeline"},
    }
    found = _forbidden_reach("calmtrace.report.x", graph)
    assert "calmtrace.report.x -> calmtrace.signals.y -> calmtrace.loader" in found
    assert any(f.endswith("calmtrace.devices.timeline") for f in found)
    # and the graph builder records an import made inside a function
    src_graph = _graph()
    assert "calmtrace.loader" in src_graph["calmtrace.cli"]   # cli imports it only inside functions


def test_every_from_import_names_an_existing_module() -> None:
    """``from .x import y`` must name a module that exists (a moved module leaves none behind)."""
    files = {_module_name(p) for p in SRC.rglob("*.py")}
    missing = []
    for p in SRC.rglob("*.py"):
        rel = p.relative_to(SRC)
        pkg = list(rel.parts[:-1])
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.level:
                    target = ".".join(["calmtrace"] + pkg[: len(pkg) - (node.level - 1)] + [node.module])
                else:
                    target = node.module
                if target.startswith("calmtrace") and target not in files:
                    missing.append(f"{rel}:{node.lineno} imports {target}, which does not exist")
    assert missing == []
