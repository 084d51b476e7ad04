"""A module's private names (a leading underscore) stay its own: what another module needs
is given a public name in its one home, so a rule is not borrowed from behind its back (the
review wing once took its text checks and the session list's search rule that way)."""

import ast

import pytest

from tests.helpers import REPO

MODULES = sorted((REPO / "memory_app").rglob("*.py"))


def private_imports(source: str) -> list[str]:
    """``from x import _name`` lines of a module (``from . import _x`` too)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            found += [
                f"from {node.module} import {alias.name}"
                for alias in node.names
                if alias.name.startswith("_") and not alias.name.startswith("__")
            ]
    return found


def test_the_finder_finds_a_private_import():
    assert private_imports("from a.b import c, _d\nimport e") == ["from a.b import _d"]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_module_imports_another_s_private_name(path):
    assert private_imports(path.read_text()) == []
