"""Settings come from the environment with safe defaults."""

import subprocess
import sys

import pytest
from django.contrib.auth.models import Group

from tests.helpers import REPO, django_env

SETUP = "import django; django.setup(); from django.conf import settings; "


def run_django(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", SETUP + code],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_mode_refuses_to_start_without_a_secret_key(tmp_path):
    env = django_env(tmp_path / "db.sqlite")
    del env["DJANGO_SECRET_KEY"]
    result = run_django("print('started')", env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr
    assert "started" not in result.stdout


def test_debug_mode_generates_and_keeps_a_dev_key(tmp_path):
    env = django_env(tmp_path / "db.sqlite", DJANGO_DEBUG="1")
    del env["DJANGO_SECRET_KEY"]
    first = run_django("print(settings.SECRET_KEY)", env)
    second = run_django("print(settings.SECRET_KEY)", env)
    assert first.returncode == 0, first.stderr
    assert len(first.stdout.strip()) >= 50
    assert first.stdout == second.stdout


def test_runtime_db_path_and_hosts_come_from_the_environment(tmp_path):
    db = tmp_path / "new" / "dir" / "runtime.sqlite"
    env = django_env(db, DJANGO_ALLOWED_HOSTS="tom.example, 10.0.0.5")
    result = run_django(
        "print(settings.DATABASES['default']['NAME']); print(settings.ALLOWED_HOSTS); "
        "print(settings.DEBUG)",
        env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [str(db), "['tom.example', '10.0.0.5']", "False"]
    assert db.parent.is_dir()


def test_database_url_selects_postgresql_and_refuses_another_engine(tmp_path):
    env = django_env(tmp_path / "db.sqlite", DATABASE_URL="postgres://tom:pw@db.example:5433/tom")
    chosen = run_django(
        "d = settings.DATABASES['default']; print(d['ENGINE'], d['HOST'], d['PORT'], d['NAME'])",
        env,
    )
    assert chosen.returncode == 0, chosen.stderr
    assert chosen.stdout.split() == ["django.db.backends.postgresql", "db.example", "5433", "tom"]
    refused = run_django("print('started')", env | {"DATABASE_URL": "mysql://tom@db/tom"})
    assert refused.returncode != 0
    assert "DATABASE_URL must name a PostgreSQL database" in refused.stderr


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("group", "extra"),
    [
        ("reviewer", set()),
        ("ops", {"add_approval"}),
        ("profile-admin", {"add_behaviorprofile", "add_personalityprofile"}),
    ],
)
def test_role_groups_exist_after_migrate(group, extra):
    codenames = set(Group.objects.get(name=group).permissions.values_list("codename", flat=True))
    views = {c for c in codenames if c.startswith("view_")}
    assert len(views) == 12
    assert codenames - views == extra
