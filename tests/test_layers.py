"""Lower layers never import higher ones.

The layers, from the bottom: the errors (a leaf), the compiled core, the scenario, results,
engines, jobs, then the package's front (``sim/__init__``, the command line), ``analysis`` and
``classroom``. A module may import its own layer and those below it. Every import counts, at the
top of a module or inside a function (a lazy import is still a dependency); only imports under
``if TYPE_CHECKING:`` (annotations) are exempt.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

#: Layer of a module, by the longest matching prefix of its dotted name (lowest first).
LAYERS: dict[str, int] = {
    "sim.errors": 0,
    "sim.core": 1,
    "sim.scenario": 2,
    "sim.results": 3,
    "sim.engines": 4,
    "sim.jobs": 5,
    "sim": 6,
    "analysis": 7,
    "classroom": 8,
}


def layer_of(module: str) -> int | None:
    best = None
    for prefix, rank in LAYERS.items():
        if module == prefix or module.startswith(prefix + "."):
            if best is None or len(prefix) > len(best[0]):
                best = (prefix, rank)
    return None if best is None else best[1]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
            if name == "TYPE_CHECKING":
                for child in node.body:
                    lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports_of(path: Path, here: str | None = None) -> list[tuple[int, str]]:
    """Every (line, imported module) of the file, lazy ones included, TYPE_CHECKING ones not."""
    tree = ast.parse(path.read_text(), filename=str(path))
    skip = _type_checking_lines(tree)
    here = module_name(path) if here is None else here
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join([*base, node.module] if node.module else base)
            else:
                mod = node.module or ""
            found.append((node.lineno, mod))
            # ``from sim import engines`` imports the subpackage sim.engines
            found += [(node.lineno, f"{mod}.{a.name}") for a in node.names
                      if layer_of(f"{mod}.{a.name}") != layer_of(mod)]
    return found


SOURCES = sorted(p for pkg in ("sim", "analysis", "classroom") for p in (REPO / pkg).rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_module_imports_a_higher_layer(path):
    mine = layer_of(module_name(path))
    assert mine is not None
    bad = [f"line {line}: {mod}" for line, mod in imports_of(path)
           if (theirs := layer_of(mod)) is not None and theirs > mine]
    assert not bad, f"{path.relative_to(REPO)} (layer {mine}) imports a higher layer: {bad}"


def test_the_checker_sees_a_lazy_upward_import(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from ..engines.model import DiplomacyModel\n")
    found = imports_of(probe, here="sim.core.probe")
    assert (2, "sim.engines.model") in found
    assert layer_of("sim.engines.model") > layer_of("sim.core.probe")


def test_type_checking_imports_are_exempt(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                     "    from sim.scenario import CompiledScenario\nimport sim.errors\n")
    assert imports_of(probe, here="sim.core.probe") == [(1, "typing"), (4, "sim.errors")]
