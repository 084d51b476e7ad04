"""The documentation says what the code does (Datasette's tests/test_docs.py is the model).

Every setting the code reads is in the one settings reference, docs/settings.md, and every
setting documented there is read by something; the links between README.md and docs/
resolve; the README stays a short front door that starts with the two commands.

The code is read, not run: settings.py and every module that reads the environment are
parsed (Python with ``ast``; TypeScript, shell scripts and the Makefile by their one way of
reading a variable), so a setting added anywhere is found whatever module it lands in.
"""

import ast
import re
from functools import cache
from pathlib import Path

import pytest
from django.conf import global_settings

# Nothing here depends on the database engine: it runs once, in the SQLite half.
pytestmark = pytest.mark.engine_free

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
README = REPO / "README.md"
SETTINGS_MODULE = REPO / "tommemory" / "settings.py"
SETTINGS_DOC = DOCS / "settings.md"

# The product: every variable these read is a setting of tommemory, whatever its name.
PRODUCT_PYTHON = ("tommemory", "memory_app", "tommemory_verify")
PRODUCT_TYPESCRIPT = "runtime-store-ts/src"
# The tools around it (tests, scripts, benchmarks) also read the machine's own variables
# (CI, TMPDIR, PATH): only names with our prefixes are settings of ours there.
TOOLING_PYTHON = ("tests", "scripts", "benchmarks")
OURS = re.compile(r"^(TOM|DJANGO|HYPOTHESIS)_[A-Z0-9_]+$")

# Names settings.py assigns that are not ours to document: Django reads them but has no
# default for them (so global_settings lacks them), third-party apps' own, and the project
# folder every path is built from.
NOT_OURS = {"ROOT_URLCONF", "ASGI_APPLICATION", "MAILERS", "BASE_DIR"}
THIRD_PARTY_PREFIXES = ("AXES_", "WHITENOISE_")


# --- what the code reads ------------------------------------------------------------------


def _is_environ(node: ast.expr) -> bool:
    """``os.environ`` or a bare ``environ``."""
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "environ"
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    ) or (isinstance(node, ast.Name) and node.id == "environ")


def _is_getenv(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "getenv"
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    ) or (isinstance(node, ast.Name) and node.id == "getenv")


def _environ_key(node: ast.AST) -> ast.expr | None:
    """The key expression of a read of the environment, or None: ``os.environ.get(k)``,
    ``os.environ[k]``, ``os.getenv(k)``, ``k in os.environ``. (``setdefault`` writes a
    default for child processes; it is not a read.)"""
    if isinstance(node, ast.Call) and node.args:
        func = node.func
        if (isinstance(func, ast.Attribute) and func.attr == "get" and _is_environ(func.value)) or (
            _is_getenv(func)
        ):
            return node.args[0]
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.ctx, ast.Load)
        and _is_environ(node.value)
    ):
        return node.slice
    if (
        isinstance(node, ast.Compare)
        and len(node.ops) == 1
        and isinstance(node.ops[0], ast.In | ast.NotIn)
        and _is_environ(node.comparators[0])
    ):
        return node.left
    return None


def _env_helpers(tree: ast.AST) -> dict[str, int]:
    """Functions that read the variable their caller names (settings.py's ``env_bool``,
    ``env_list``): name -> the position of the parameter that names it."""
    helpers = {}
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef):
            continue
        params = [a.arg for a in function.args.args]
        for node in ast.walk(function):
            key = _environ_key(node)
            if isinstance(key, ast.Name) and key.id in params:
                helpers[function.name] = params.index(key.id)
    return helpers


def _literal(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def python_env_reads(source: str) -> set[str]:
    """The environment variables a Python module reads by name."""
    tree = ast.parse(source)
    helpers = _env_helpers(tree)
    names = set()
    for node in ast.walk(tree):
        name = _literal(_environ_key(node))
        if (
            name is None
            and isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in helpers
            and len(node.args) > helpers[node.func.id]
        ):
            name = _literal(node.args[helpers[node.func.id]])
        if name:
            names.add(name)
    return names


TS_ENV = re.compile(r"process\.env(?:\.([A-Za-z_]\w*)|\[\s*[\"']([^\"']+)[\"']\s*\])")
SHELL_ENV = re.compile(r"\$\{?([A-Za-z_]\w*)")
MAKE_KNOB = re.compile(r"^([A-Za-z_]\w*)\s*\?=", re.MULTILINE)


def typescript_env_reads(source: str) -> set[str]:
    return {a or b for a, b in TS_ENV.findall(source)}


def _files(folder: str, pattern: str) -> list[Path]:
    return [p for p in (REPO / folder).rglob(pattern) if "node_modules" not in p.parts]


def _is_python_script(path: Path) -> bool:
    return path.suffix == ".py" or (
        not path.suffix and path.read_text(errors="replace").startswith("#!/usr/bin/env python")
    )


@cache
def settings_read() -> dict[str, set[Path]]:
    """Every setting the code reads from the environment, with the files that read it."""
    found: dict[str, set[Path]] = {}

    def add(names, path, ours_only):
        for name in names:
            if not ours_only or OURS.match(name):
                found.setdefault(name, set()).add(path.relative_to(REPO))

    for folder in PRODUCT_PYTHON:
        for path in _files(folder, "*.py"):
            add(python_env_reads(path.read_text()), path, ours_only=False)
    for path in _files(PRODUCT_TYPESCRIPT, "*.ts"):
        add(
            typescript_env_reads(path.read_text()),
            path,
            ours_only="test" in path.relative_to(REPO).parts,
        )
    for folder in TOOLING_PYTHON:
        for path in _files(folder, "*"):
            if not path.is_file():
                continue
            if _is_python_script(path):
                add(python_env_reads(path.read_text()), path, ours_only=True)
            elif path.suffix in {".mjs", ".js", ".ts"}:
                add(typescript_env_reads(path.read_text()), path, ours_only=True)
            elif not path.suffix and path.read_text(errors="replace").startswith("#!/bin/"):
                add(SHELL_ENV.findall(path.read_text()), path, ours_only=True)
    # make run's address: a Makefile variable the environment or the command line may set.
    add(MAKE_KNOB.findall((REPO / "Makefile").read_text()), REPO / "Makefile", ours_only=False)
    return found


@cache
def settings_assigned() -> set[str]:
    """The upper-case names settings.py assigns: the Django settings it defines."""
    names = set()
    for node in ast.walk(ast.parse(SETTINGS_MODULE.read_text())):
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign | ast.NamedExpr)
            else []
        )
        names.update(t.id for t in targets if isinstance(t, ast.Name) and t.id.isupper())
    return names


def _ours(name: str) -> bool:
    return not (
        hasattr(global_settings, name) or name in NOT_OURS or name.startswith(THIRD_PARTY_PREFIXES)
    )


@cache
def django_settings_of_ours() -> set[str]:
    """Django settings of ours: those settings.py defines, and any other the product reads
    (``settings.X``, ``getattr(settings, "X")``) that is neither Django's nor an app's."""
    names = {n for n in settings_assigned() if _ours(n)}
    for folder in PRODUCT_PYTHON:
        for path in _files(folder, "*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "settings"
                ):
                    name = node.attr
                elif (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in {"getattr", "hasattr"}
                    and len(node.args) >= 2
                    and isinstance(node.args[0], ast.Name)
                    and node.args[0].id == "settings"
                ):
                    name = _literal(node.args[1]) or ""
                else:
                    continue
                if name.isupper() and _ours(name):
                    names.add(name)
    return names


# --- what the settings reference documents --------------------------------------------------

NAME = re.compile(r"`([A-Z][A-Z0-9_]*)`")


def _cells(row: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip().strip("|"))]


def _settings_tables(text: str) -> list[list[str]]:
    """The rows of every table whose first column is headed 'variable'."""
    tables, rows = [], None
    for line in text.splitlines():
        if not line.startswith("|"):
            rows = None
            continue
        cells = _cells(line)
        if rows is None:
            rows = [] if cells[0] == "variable" else False
            if rows is not False:
                tables.append(rows)
        elif rows is not False and not set(cells[0]) <= set("-: "):
            rows.append(line)
    return tables


@cache
def documented() -> tuple[set[str], set[str]]:
    """(environment variables, Django settings) named in docs/settings.md's table."""
    (table,) = _settings_tables(SETTINGS_DOC.read_text())
    variables, django_names = set(), set()
    for row in table:
        cells = _cells(row)
        variables.update(NAME.findall(cells[0]))
        django_names.update(NAME.findall(cells[1]))
    return variables, django_names


def test_the_parser_finds_every_way_a_setting_is_read():
    source = """
import os
from os import environ


def env_flag(label, name, default=False):
    return os.environ.get(name) or default

A = os.environ.get("A_GET", "x")
B = os.environ["B_ITEM"]
C = os.getenv("C_GETENV")
D = "D_IN" in os.environ
E = env_flag("label", "E_HELPER")
F = environ.get("F_BARE")
os.environ.setdefault("NOT_READ", "1")
os.environ["NOT_READ_EITHER"] = "1"
"""
    assert python_env_reads(source) == {"A_GET", "B_ITEM", "C_GETENV", "D_IN", "E_HELPER", "F_BARE"}
    ts = 'const a = process.env.TS_DOT ?? process.env["TS_ITEM"];'
    assert typescript_env_reads(ts) == {"TS_DOT", "TS_ITEM"}


def test_the_settings_module_is_read():
    """The parse sees settings.py's own reads, its helpers' included: an empty result would
    make the tests below pass vacuously."""
    read = settings_read()
    for name in ("DATABASE_URL", "TOM_RUNTIME_DB", "DJANGO_DEBUG", "DJANGO_ALLOWED_HOSTS"):
        assert SETTINGS_MODULE.relative_to(REPO) in read[name], name
    assert {"TOM_GOVERNANCE", "TOM_DIGEST_INTERVAL", "SQLITE_OPTIONS"} <= django_settings_of_ours()


@pytest.mark.parametrize("name", sorted(settings_read()))
def test_every_setting_read_is_documented(name):
    variables, _ = documented()
    where = ", ".join(sorted(str(p) for p in settings_read()[name]))
    assert name in variables, f"{name} (read by {where}) is missing from docs/settings.md"


@pytest.mark.parametrize("name", sorted(django_settings_of_ours()))
def test_every_django_setting_of_ours_is_documented(name):
    variables, django_names = documented()
    assert name in django_names | variables, (
        f"the Django setting {name} is missing from docs/settings.md's 'Django setting' column"
    )


def test_every_documented_setting_is_read():
    variables, django_names = documented()
    assert variables - set(settings_read()) == set(), "documented, but nothing reads it"
    assert django_names - settings_assigned() == set(), "documented, but settings.py lacks it"


def test_there_is_one_settings_table():
    """The settings are listed once: two hand-kept lists drifted apart before."""
    pages = [README, *sorted(DOCS.glob("*.md"))]
    holding = [p.name for p in pages if _settings_tables(p.read_text())]
    assert holding == ["settings.md"]
    variables, _ = documented()
    docstring = ast.get_docstring(ast.parse(SETTINGS_MODULE.read_text())) or ""
    assert not set(re.findall(r"\b[A-Z][A-Z0-9_]{3,}\b", docstring)) & variables, (
        "settings.py's docstring lists settings again: point to docs/settings.md instead"
    )


# --- links and the front door ----------------------------------------------------------------

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.DOTALL)
    return {_slug(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)}


def _links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.DOTALL)
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]


PAGES = [README, *sorted(DOCS.glob("*.md"))]


@pytest.mark.parametrize("doc", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_link_resolves(doc):
    broken = []
    for link in _links(doc):
        path, _, anchor = link.partition("#")
        target = (doc.parent / path).resolve() if path else doc
        if not target.exists():
            broken.append(f"{link}: no such file")
        elif anchor and target.suffix == ".md" and anchor not in _anchors(target):
            broken.append(f"{link}: no heading '{anchor}' in {target.name}")
    assert broken == []


def test_the_readme_leads_to_every_page():
    linked = {(README.parent / link.partition("#")[0]).resolve() for link in _links(README)}
    unlinked = [p.name for p in DOCS.glob("*.md") if p.resolve() not in linked]
    assert unlinked == []


def test_the_readme_is_a_front_door_that_starts_with_the_two_commands():
    lines = README.read_text().splitlines()
    assert len(lines) < 150
    assert lines[:3] == ["# tommemory", "", "```sh"]
    block = lines[3 : lines.index("```", 3)]
    commands = [line.split("#")[0].strip() for line in block if not line.startswith(" ")]
    assert commands == ["make run", "make test"]
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^run:", makefile, re.MULTILINE)
    assert re.search(r"^test:", makefile, re.MULTILINE)
