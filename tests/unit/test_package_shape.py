"""The package's shape for the people who carry it on: small modules, and no module reaching into
another's private names (issue 17)."""

from __future__ import annotations

import ast
from pathlib import Path

import ks_privacy

PACKAGE = Path(ks_privacy.__file__).parent
MAX_LINES = 450


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE).as_posix(), path


def private_uses(tree: ast.Module) -> set[str]:
    """`from x import _name`, imports of a `_module`, and `other._name` (not self/cls)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if any(p.startswith("_") and not p.startswith("__") for p in module.split(".")):
                found.add(module)
            found |= {
                f"{module}.{a.name}"
                for a in node.names
                if a.name.startswith("_") and not a.name.startswith("__")
            }
        elif isinstance(node, ast.Import):
            found |= {
                a.name
                for a in node.names
                if any(p.startswith("_") and not p.startswith("__") for p in a.name.split("."))
            }
        elif (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
        ):
            found.add(ast.unparse(node))
    return found


def test_no_module_is_over_the_size_limit():
    long = {
        name: n for name, path in modules() if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_no_module_uses_another_modules_private_names():
    found = {}
    for name, path in modules():
        uses = private_uses(ast.parse(path.read_text()))
        if uses:
            found[name] = sorted(uses)
    assert found == {}
