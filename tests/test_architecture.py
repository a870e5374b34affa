"""The layering of ARCHITECTURE.md, checked: no module imports a higher layer, no import cycle."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "mrc_ner"

#: the layers, lowest first; a module may import its own layer and the ones below it
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "hardware", "io", "memory"),
    ("corpus",),
    ("encoding",),
    ("decoding", "evaluation"),
    ("training",),
    ("queries", "models"),
    ("inference", "export", "export_onnx", "testing"),
    ("experiments", "mining"),
    ("commands", "cli"),
)


def module_name(path: Path) -> str:
    """``mrc_ner/mining/extract/run.py`` → ``mrc_ner.mining.extract.run``."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """Every ``mrc_ner`` module a file imports (at module level or inside functions)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            out |= {f"{base}.{a.name}" if _is_module(f"{base}.{a.name}") else base for a in node.names}
    return {m for m in out if m.startswith("mrc_ner.")}


def _is_module(name: str) -> bool:
    """True when ``name`` is a module or package of mrc_ner (not a name defined inside one)."""
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def layer_of(module: str) -> int | None:
    """The index of a module's layer in :data:`LAYERS` (None for the package root)."""
    top = module.split(".")[1] if "." in module else ""
    return next((i for i, names in enumerate(LAYERS) if top in names), None)


def test_every_module_has_a_layer():
    tops = {module_name(p).split(".")[1] for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py"}
    assert tops - {n for names in LAYERS for n in names} == set()


def test_no_module_imports_a_higher_layer():
    upward = []
    for path in PACKAGE.rglob("*.py"):
        own = layer_of(module_name(path))
        if own is None:
            continue
        for dep in imported(path):
            layer = layer_of(dep)
            if layer is not None and layer > own:
                upward.append(f"{module_name(path)} → {dep}")
    assert upward == []


def test_no_import_cycle():
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        deps = set()
        for dep in imported(path):
            while dep not in modules and "." in dep:
                dep = dep.rsplit(".", 1)[0]
            if dep in modules and dep != name and dep != "mrc_ner":
                deps.add(dep)
        graph[name] = deps
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append(stack[stack.index(dep) :] + [dep])
            elif dep not in state:
                visit(dep, [*stack, dep])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []
