"""The TypeScript store as a runtime gets it: the tarball `npm pack` makes, installed with no
registry into an empty npm project, running its own README's quick start as written.

Also what a runtime without the optional parts meets: no `pg` (an optional peer dependency)
and, when this machine has one, a Node without node:sqlite. The store's own node tests
(runtime-store-ts/src/test/open.test.ts) cover opening files in detail.
"""

import re
import shutil
import subprocess

import pytest

from tests.helpers import REPO, typescript_node

PACKAGE = REPO / "runtime-store-ts"
# The engine does not matter: the package writes a SQLite file of its own.
pytestmark = pytest.mark.engine("sqlite")


def run(args: list[str], cwd, timeout: int = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """An empty npm project with the packed package installed from its tarball alone."""
    tmp = tmp_path_factory.mktemp("package")
    packed = run(["npm", "pack", "--pack-destination", str(tmp), "--loglevel=error"], PACKAGE)
    assert packed.returncode == 0, packed.stderr
    (tarball,) = tmp.glob("tommemory-runtime-store-*.tgz")
    app = tmp / "runtime"
    app.mkdir()
    for step in (
        ["npm", "init", "-y"],
        ["npm", "install", "--offline", "--no-audit", "--no-fund", str(tarball)],
    ):
        done = run(step, app)
        assert done.returncode == 0, f"{step}: {done.stderr}"
    return app


def readme_blocks(app) -> dict[str, str]:
    """The quick start's program and the output it promises, from the installed README."""
    readme = (app / "node_modules" / "@tommemory" / "runtime-store" / "README.md").read_text()
    start = readme.index("## Quick start")
    section = readme[start : readme.index("\n## ", start + 1)]
    blocks = dict(re.findall(r"```(\w+)\n(.*?)```", section, re.S)[1:])
    assert set(blocks) == {"js", "text"}, section
    assert "npm init -y" in section
    assert "Save this as `quickstart.mjs`" in section
    return blocks


def test_the_readme_quick_start_works_in_an_empty_project_as_written(project):
    blocks = readme_blocks(project)
    (project / "quickstart.mjs").write_text(blocks["js"])
    for _ in range(2):  # a second run finds the file the first made
        ran = run([typescript_node(), "quickstart.mjs"], project, timeout=60)
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout == blocks["text"]
        # Nothing else: no ExperimentalWarning for node:sqlite on every run.
        assert ran.stderr == ""
    assert (project / "memory" / "tom_runtime.sqlite").exists()


def test_pg_is_an_optional_peer_dependency(project):
    # A SQLite-only runtime installs nothing else; a PostgreSQL URL says what is missing.
    assert sorted(
        p.name for p in (project / "node_modules").iterdir() if not p.name.startswith(".")
    ) == ["@tommemory"]
    script = (
        'import { RuntimeMemoryStore } from "@tommemory/runtime-store";\n'
        'try { await RuntimeMemoryStore.open("postgres://tom@127.0.0.1:1/none"); }\n'
        "catch (error) { console.log(error.message); }\n"
    )
    (project / "pg.mjs").write_text(script)
    ran = run([typescript_node(), "pg.mjs"], project, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert (
        ran.stdout
        == "a PostgreSQL URL needs node-postgres, which is not installed: npm install pg\n"
    )


def node_without_sqlite() -> str | None:
    """A Node on this machine that has no node:sqlite (Debian's is 20), or None."""
    for candidate in (shutil.which("node"), "/usr/bin/node"):
        if (
            candidate
            and run([candidate, "-e", 'require("node:sqlite")'], REPO, timeout=30).returncode
        ):
            return candidate
    return None


def test_a_node_without_node_sqlite_is_told_which_node_it_needs(project, tmp_path):
    old = node_without_sqlite()
    if old is None:
        pytest.skip(
            "every Node here has node:sqlite (open.test.ts covers it with one that hides it)"
        )
    (tmp_path / "quickstart.mjs").write_text(readme_blocks(project)["js"])
    shutil.copytree(project / "node_modules", tmp_path / "node_modules")
    ran = run([old, "quickstart.mjs"], tmp_path, timeout=60)
    assert ran.returncode == 1
    assert "ERR_UNKNOWN_BUILTIN_MODULE" not in ran.stderr
    assert re.search(
        r"StoreError: SQLite files need node:sqlite, which Node 2\d\.\d+\.\d+ does not have: "
        r"run Node 22\.13 or newer",
        ran.stderr,
    ), ran.stderr
    assert not (tmp_path / "memory").exists()
