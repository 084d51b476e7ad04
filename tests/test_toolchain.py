"""The Makefile's interpreter finder: a 3.12+ when there is one, clear advice when not."""

import subprocess
import sys

from .conftest import REPO

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
