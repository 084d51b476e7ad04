"""The Makefile's interpreter finders: a Python 3.12+ and a Node 22.13+ when there is one,
one installed from the npm registry when the system's Node is too old, clear advice when not."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from memory_app import timeutil
from tests.helpers import REPO, TEST_NOW, typescript_node

# Nothing here depends on the database engine: it runs once, in the SQLite half.
pytestmark = pytest.mark.engine_free

FINDER = REPO / "scripts" / "find-python"


def test_finder_picks_a_python_of_at_least_3_12():
    result = subprocess.run(["/bin/sh", str(FINDER)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    version = subprocess.run(
        [result.stdout.strip(), "-c", "import sys; print(sys.version_info[:2] >= (3, 12))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.strip() == "True"


def test_finder_says_what_to_install_when_nothing_fits(tmp_path):
    # Only a too-old python3.12 on PATH, and no pyenv.
    fake = tmp_path / "python3.12"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    result = subprocess.run(
        ["/bin/sh", str(FINDER)],
        env={"PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "needs Python 3.12 or newer" in result.stderr
    assert "pyenv install 3.13" in result.stderr
    assert result.stdout == ""
    assert sys.version_info >= (3, 12)


def node_finder_in(tmp_path: Path, *, system_node: str | None, npm: str | None = None):
    """Run a copy of scripts/find-node in a project of its own (made on the first call),
    with only the given node and npm on PATH besides a few file tools. Returns the run and
    the project's own Node path."""
    project = tmp_path / "project"
    bin_ = tmp_path / "bin"
    if not project.exists():
        (project / "scripts").mkdir(parents=True)
        shutil.copy(REPO / "scripts" / "find-node", project / "scripts")
        bin_.mkdir()
        for tool in ("dirname", "mkdir", "chmod"):
            (bin_ / tool).symlink_to(shutil.which(tool))
    for name, script in (("node", system_node), ("npm", npm)):
        (bin_ / name).unlink(missing_ok=True)
        if script is not None:
            (bin_ / name).write_text(script)
            (bin_ / name).chmod(0o755)
    found = subprocess.run(
        ["/bin/sh", str(project / "scripts" / "find-node")],
        env={"PATH": str(bin_)}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    return found, project / "runtime-store-ts" / ".node" / "node_modules" / ".bin" / "node"


OLD_NODE = '#!/bin/sh\n[ "$1" = --version ] && echo v20.19.2 && exit 0\nexit 1\n'


def test_node_finder_uses_the_system_node_when_it_has_node_sqlite(tmp_path):
    found, _ = node_finder_in(tmp_path, system_node=f'#!/bin/sh\nexec {typescript_node()} "$@"\n')
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == str(tmp_path / "bin" / "node")
    assert found.stderr == ""


def test_node_finder_installs_node_from_the_npm_registry_when_the_system_one_is_old(tmp_path):
    # A stand-in npm that records its arguments and installs a working Node where the real
    # one would (node_modules/.bin of the prefix).
    npm = (
        "#!/bin/sh\n"
        f'echo "$@" > {tmp_path}/npm-args\n'
        'prefix=$3; mkdir -p "$prefix/node_modules/.bin"\n'
        'bin="$prefix/node_modules/.bin"\n'
        f'printf \'#!/bin/sh\\nexec {typescript_node()} "$@"\\n\' > "$bin/node"\n'
        'chmod +x "$bin/node"\n'
    )
    found, local = node_finder_in(tmp_path, system_node=OLD_NODE, npm=npm)
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == str(local)
    assert f"found: {tmp_path / 'bin' / 'node'} v20.19.2." in found.stderr
    assert "Installing node@22.23.3 from the npm registry into runtime-store-ts/.node" in (
        found.stderr
    )
    args = (tmp_path / "npm-args").read_text().split()
    assert args[:3] == ["install", "--prefix", str(local.parents[2])]
    assert args[-1] == "node@22.23.3"
    # Once installed, it is used without npm.
    again, _ = node_finder_in(tmp_path, system_node=OLD_NODE)
    assert (again.returncode, again.stdout.strip(), again.stderr) == (0, str(local), "")


def test_node_finder_says_what_is_missing_without_node_or_npm(tmp_path):
    found, _ = node_finder_in(tmp_path, system_node=OLD_NODE)
    assert found.returncode == 1
    assert found.stdout == ""
    assert "needs Node 22.13 or newer (node:sqlite); found: " in found.stderr
    assert "v20.19.2" in found.stderr
    assert "apt-get install nodejs npm" in found.stderr


def test_without_postgresql_make_test_is_told_and_ci_never_skips(tmp_path):
    # No PostgreSQL server programs on PATH, not root: nothing can be installed or started.
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    for tool in ("dirname", "mktemp", "id", "ls", "sort", "python3"):
        if found := shutil.which(tool):
            (bin_ / tool).symlink_to(found)
    script = str(REPO / "scripts" / "with-postgres")
    # Debian's place for the server programs, pointed elsewhere (this machine may have them).
    env = {"PATH": str(bin_), "HOME": str(tmp_path), "TOM_PG_BINDIR_GLOB": str(tmp_path / "none")}
    local = subprocess.run(
        ["/bin/sh", script, "true"], env=env, capture_output=True, text=True, check=False
    )
    assert local.returncode == 75
    assert "PostgreSQL half skipped: no PostgreSQL server programs" in local.stderr
    ci = subprocess.run(
        ["/bin/sh", script, "true"], env=env | {"CI": "true"}, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    assert ci.returncode == 1
    assert "CI never skips the PostgreSQL half." in ci.stderr


# What reads the wall clock or today's date. Tests take the time from the ``clock`` fixture
# (conftest.Clock), the TypeScript tests from the store's ``now`` option; processes that
# start together share time.monotonic / process.hrtime, which are no date.
WALL_CLOCK = re.compile(
    r"datetime\.now\(|datetime\.utcnow\(|timezone\.now\(|date\.today\(|time\.time(_ns)?\(|"
    r"time\.localtime\(|time\.gmtime\(\)|Date\.now\(|new Date\(\)"
)


def test_no_test_reads_the_wall_clock():
    sources = [
        *(REPO / "tests").rglob("*.py"),
        *(REPO / "tests").glob("*.mjs"),
        *(REPO / "runtime-store-ts" / "src" / "test").glob("*.ts"),
    ]
    assert len(sources) > 40
    readers = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in sources
        if "node_modules" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if WALL_CLOCK.search(line)
    ]
    assert readers == []


def test_the_suite_s_clock_is_pinned_whatever_the_day(clock):
    assert timeutil.now_iso().startswith(TEST_NOW[:16])
    clock.set("2031-02-28T23:59:59.000Z")
    assert timeutil.now_iso().startswith("2031-02-28T23:59:59")
