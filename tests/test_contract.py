"""The contract, as data: every scenario in contract/scenarios runs against the Python store.

A scenario is a sequence of store calls (named as the TypeScript API names them, with
camelCase arguments), the result or error each must give, and the rows the tables must
hold afterwards; ids and times are matched by form (see contract/README.md).
"""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import fields, is_dataclass
from pathlib import Path

import pytest
from django.db import connection, models

from memory_app.promotion.rule import Verdict
from memory_app.store import RecordedDecision, RuntimeMemoryStore, StoreError
from tests.helpers import REPO, manage, postgresql_url, start_together, typescript_node

pytestmark = pytest.mark.django_db

SCENARIOS = sorted((REPO / "contract" / "scenarios").glob("*.json"))
FORMS = {
    "<uuid7>": re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"),
    "<timestamp>": re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"),
    "<sha256>": re.compile(r"^[0-9a-f]{64}$"),
}


def snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def plain(value):
    """A store result as the language-neutral form scenarios describe."""
    if isinstance(value, RecordedDecision):
        return {
            "approval": plain(value.approval),
            "status": value.verdict.status,
            "duplicate": value.duplicate,
        }
    if isinstance(value, Verdict):
        return {"status": value.status}
    if isinstance(value, models.Model):
        return {f.column: getattr(value, f.attname) for f in value._meta.local_fields}
    if is_dataclass(value):
        return {camel(f.name): plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def resolve(value, saved: dict):
    """Replace "$name.field" references with what earlier steps returned."""
    if isinstance(value, str) and value.startswith("$"):
        name, _, path = value[1:].partition(".")
        found = saved[name]
        for part in path.split(".") if path else []:
            found = found[int(part)] if isinstance(found, list) else found[part]
        return found
    if isinstance(value, dict):
        return {k: resolve(v, saved) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, saved) for v in value]
    return value


def matches(expected, actual, saved: dict, where: str) -> None:
    """``actual`` has every key of ``expected``, each equal or of the named form."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{where}: no {key!r} in {sorted(actual)}"
            matches(value, actual[key], saved, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{where}: expected a list, got {actual!r}"
        assert len(actual) == len(expected), f"{where}: {len(actual)} items, not {len(expected)}"
        for n, (e, a) in enumerate(zip(expected, actual, strict=True)):
            matches(e, a, saved, f"{where}[{n}]")
    elif expected == "<any>":
        return
    elif isinstance(expected, str) and expected in FORMS:
        assert isinstance(actual, str), f"{where}: {actual!r} is not {expected}"
        assert FORMS[expected].match(actual), f"{where}: {actual!r} is not {expected}"
    else:
        assert actual == resolve(expected, saved), f"{where}: {actual!r} != {expected!r}"


def rows_of(table: str) -> list[dict]:
    """Every row of a table in the order it was added: SQLite's rowid; on PostgreSQL the
    UUIDv7 ids (the first column), which the store makes in increasing order (the
    scenarios give no ids)."""
    order = "1" if connection.vendor == "postgresql" else "rowid"
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT * FROM "{table}" ORDER BY {order}')
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def insert_row(table: str, row: dict) -> None:
    """Write a row as another writer would: straight into the table, behind the store."""
    columns = ", ".join(f'"{c}"' for c in row)
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{table}" ({columns}) VALUES ({", ".join(["%s"] * len(row))})',
            list(row.values()),
        )


# The batch writers' lists of items (appendTurns' turns, addSteps' steps, addEvents' events,
# startSessions' sessions, startWorkflowRuns' and finishWorkflowRuns' runs).
BATCHES = {"turns", "steps", "events", "sessions", "runs"}


def run_scenario(scenario: dict, store: RuntimeMemoryStore, clock=None) -> None:
    saved: dict = {}
    for n, step in enumerate(scenario["steps"]):
        if "clock" in step:  # time passes: the store's clock, and the rule's, stop there
            clock.set(step["clock"], ticking=False)
            continue
        if "insert" in step:  # another writer's row
            saved[step.get("as", "")] = row = resolve(step["row"], saved)
            insert_row(step["insert"], row)
            continue
        where = f"step {n} ({step['call']})"
        method = getattr(store, snake(step["call"]))
        kwargs = {snake(k): v for k, v in resolve(step.get("args", {}), saved).items()}
        for batch in BATCHES.intersection(kwargs):
            # A batch writer's items are objects of a single call's arguments, camelCase
            # in the scenario as the call's own (their values as given: JSON stays JSON).
            if isinstance(kwargs[batch], list):
                kwargs[batch] = [
                    {snake(k): v for k, v in item.items()} if isinstance(item, dict) else item
                    for item in kwargs[batch]
                ]
        if "error" in step:
            with pytest.raises(StoreError) as refused:
                method(**kwargs)
            # The named type, or a kind of it (profiles' StartRefused is an InvalidInput).
            kinds = {kind.__name__ for kind in type(refused.value).__mro__}
            assert step["error"]["type"] in kinds, where
            assert re.search(step["error"]["matches"], str(refused.value)), (
                f"{where}: {refused.value}"
            )
            continue
        result = plain(method(**kwargs))
        if "as" in step:
            saved[step["as"]] = result
        if "result" in step:
            matches(step["result"], result, saved, where)
    for table, expected in scenario.get("rows", {}).items():
        matches(expected, rows_of(table), saved, f"table {table}")


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_the_python_store_passes_the_contract_scenario(path: Path, clock):
    scenario = json.loads(path.read_text())
    # Every scenario states its moment: the store's clock, and the rule's, stop there (as in
    # TypeScript), so no scenario depends on the day it runs.
    clock.set(scenario["now"], ticking=False)
    run_scenario(scenario, RuntimeMemoryStore(), clock)


def test_every_store_call_is_covered_by_a_scenario():
    steps = [step for p in SCENARIOS for step in json.loads(p.read_text())["steps"]]
    calls = {step["call"] for step in steps if "call" in step}
    api = {
        "startSession", "startSessions", "endSession", "appendTurn", "appendTurns",
        "appendTurnsAcross", "startWorkflowRun", "startWorkflowRuns", "finishWorkflowRun",
        "finishWorkflowRuns", "addStep", "addSteps", "addStepsAcross", "finishStep",
        "addEvent", "addEvents", "learnSkill", "draftProposal", "recordValidation",
        "recordApproval", "recordDeployOutcome", "publishBehaviorProfile",
        "publishPersonalityProfile", "latestActiveBehaviorProfile",
        "latestActivePersonalityProfile", "sessionReplay", "workflowReplay", "proposalLineage",
        "proposalStatus", "withdrawBehaviorProfile", "withdrawPersonalityProfile",
        "createScoreConfig", "annotate", "annotationsForSession", "annotationsSince",
    }  # fmt: skip
    assert api <= calls, f"no scenario calls {sorted(api - calls)}"


def test_the_governance_defaults_are_the_contract_s():
    from django.conf import settings

    contract = json.loads((REPO / "contract" / "governance.json").read_text())
    assert contract == settings.TOM_GOVERNANCE


# contract/tommemory_schema.sql is SQLite DDL (the TypeScript store's bootstrap).
@pytest.mark.engine("sqlite")
@pytest.mark.parametrize(
    "table",
    [
        "tommemory_approval_evidence",
        "tommemory_overrides",
        "tommemory_audit_log",
        "tommemory_audit_log_previous",
        "tommemory_log_tiles",
        "tommemory_profile_withdrawals",
        "tommemory_score_configs",
        "tommemory_annotations",
        "tommemory_annotation_scores",
        "tommemory_finding_evidence",
    ],
)
def test_the_contract_s_own_tables_are_the_ones_the_migrations_make(tmp_path, table):

    def shape(cursor) -> list:
        return [
            cursor.execute(f"PRAGMA table_xinfo({table})").fetchall(),
            cursor.execute(f"PRAGMA foreign_key_list({table})").fetchall(),
            sorted(row[2:] for row in cursor.execute(f"PRAGMA index_list({table})").fetchall()),
            sorted(
                r[0]
                for r in cursor.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?",
                    [table],
                ).fetchall()
            ),
        ]

    fresh = sqlite3.connect(tmp_path / "contract.sqlite")
    for name in ("v1_schema.sql", "tommemory_schema.sql"):
        fresh.executescript((REPO / "contract" / name).read_text())
    with connection.cursor() as cursor:
        migrated = shape(cursor)
    assert shape(fresh.cursor()) == migrated


def write_with_typescript(script: str, migrated_file_db: Path, tmp_path: Path) -> tuple:
    """Copy the migrated file, run tests/<script> on it with the TypeScript store, and
    return the file and the ids the script printed."""
    if not (REPO / "runtime-store-ts" / "dist" / "index.js").exists():
        pytest.fail("the TypeScript store is not built: run scripts/test-store-ts (make test does)")
    db = tmp_path / "tom_runtime.sqlite"
    shutil.copy(migrated_file_db, db)
    written = subprocess.run(
        [typescript_node(), str(REPO / "tests" / script), str(db)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return db, json.loads(written.stdout)


# The TypeScript store writes SQLite files only so far: run in the SQLite half.
@pytest.mark.engine("sqlite")
def test_decisions_the_typescript_store_writes_verify_in_python(migrated_file_db, tmp_path):
    """Evidence and chain hashes from TypeScript are the ones Python computes."""

    db, ids = write_with_typescript("ts_writer.mjs", migrated_file_db, tmp_path)
    audit = manage(db, "verify_audit")
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "checked 3 chained decision(s)" in audit.stdout
    assert "decision chain intact" in audit.stdout
    check = manage(
        db, "shell", "--no-imports", "-c",
        "from memory_app.models import Proposal, Turn; from memory_app.promotion import rule;"
        f"p = Proposal.objects.get(pk={ids['proposal']!r}); v = rule.verdict_for(p);"
        "print(p.status, v.status, all(d.counted for d in v.decisions), v.disagreement == '');"
        "print(Turn.objects.search('TypeScript').count())",
    )  # fmt: skip
    assert check.stdout.split() == ["approved", "approved", "True", "True", "1"], check.stderr
    # The TypeScript store logged its own rows as it wrote them, each leaf as Python hashes it.
    logged = manage(
        db, "shell", "--no-imports", "-c",
        "from memory_app.promotion import decision_log; from memory_app.models import AuditLeaf;"
        "e = list(AuditLeaf.objects.order_by('index'));"
        "print(' '.join(x.kind for x in e)); print(decision_log._rows_against_leaves(e));"
        "print(decision_log.take_in())",
    )  # fmt: skip
    assert logged.stdout.splitlines()[-3:] == [
        "validation approval approval approval deploy behavior_profile",
        "[]",
        "0",
    ], logged.stderr


def test_a_typescript_and_a_python_writer_append_to_one_session_at_once(shared_db):
    """Hundreds of turns each, at once: every index exactly once, no locking error (on
    SQLite and on PostgreSQL)."""
    shared_db.execute(
        "INSERT INTO sessions (id, actor, started_at) VALUES ('both', 'tom', '2026-11-24')"
    )
    count, start_at = 300, start_together()
    writers = [
        subprocess.Popen(
            [typescript_node(), str(REPO / "tests" / "ts_appender.mjs"), shared_db.target,
             "both", str(count), "typescript", start_at],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ),
        subprocess.Popen(
            [sys.executable, "-m", "tests.writer_process", "both", str(count), "python", start_at],
            cwd=REPO, env=shared_db.env | {"TOM_DB_TIMEOUT": "60"},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ),
    ]  # fmt: skip
    outputs = [w.communicate(timeout=240) for w in writers]
    for writer, (out, err) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, err
        assert "database is locked" not in err + out
    rows = shared_db.execute(
        "SELECT turn_index, content FROM conversation_turns ORDER BY turn_index"
    )
    assert [index for index, _ in rows] == list(range(2 * count))
    by_label = {
        label: sum(c.startswith(label) for _, c in rows) for label in ("typescript", "python")
    }
    assert by_label == {"typescript": count, "python": count}


def test_npm_pack_makes_a_tarball_a_runtime_installs_and_uses(tmp_path):

    package = REPO / "runtime-store-ts"
    subprocess.run(
        ["npm", "pack", "--pack-destination", str(tmp_path), "--loglevel=error"],
        cwd=package, check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    (tarball,) = tmp_path.glob("tommemory-runtime-store-*.tgz")
    app = tmp_path / "runtime"
    app.mkdir()
    (app / "package.json").write_text('{"name": "runtime", "private": true, "type": "module"}')
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", str(tarball)],
        cwd=app, check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    (app / "use.mjs").write_text(
        'import { RuntimeMemoryStore } from "@tommemory/runtime-store";\n'
        'const store = await RuntimeMemoryStore.bootstrap("memory.sqlite");\n'
        'const session = await store.startSession("tom", { channel: "cli" });\n'
        'await store.appendTurn(session.id, "user", "hello");\n'
        "console.log((await store.sessionReplay(session.id)).turns.length);\n"
        "await store.close();\n"
    )
    used = subprocess.run(
        [typescript_node(), "use.mjs"],
        cwd=app, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert used.stdout.strip() == "1"
    assert (app / "node_modules" / "@tommemory" / "runtime-store" / "dist" / "index.d.ts").exists()
    # The contract is copied into the package for the tarball only: a copy left behind
    # would shadow the repository's contract/ in the package's own tests.
    assert not (package / "contract").exists()


# The pragmas are SQLite's.
@pytest.mark.engine("sqlite")
def test_dashboard_connections_are_set_up_as_the_contract_says(migrated_file_db):
    # (The TypeScript store's connections are checked the same way by its node tests.)
    contract = json.loads((REPO / "contract" / "connection.json").read_text())
    read_back = (
        "from django.db import connection\n"
        "import json\n"
        "with connection.cursor() as c:\n"
        "    names = [*NAMES, 'busy_timeout']\n"
        "    print(json.dumps({n: c.execute(f'PRAGMA {n}').fetchone()[0] for n in names}))\n"
    ).replace("NAMES", repr(list(contract["pragmas"])))
    shown = manage(migrated_file_db, "shell", "-c", read_back)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout.splitlines()[-1]) == contract["pragmas"] | {
        "busy_timeout": contract["busy_timeout_ms"]
    }


@pytest.mark.engine("postgresql")
def test_the_typescript_store_passes_the_contract_on_postgresql(migrated_postgresql_template):
    # The same node tests make test runs on SQLite, here on databases copied from one the
    # dashboard migrated.
    package = REPO / "runtime-store-ts"
    tests = sorted(str(p) for p in (package / "dist" / "test").glob("*.test.js"))
    ran = subprocess.run(
        [typescript_node(), "--test", *tests],
        cwd=package, capture_output=True, text=True, timeout=300, check=False,
        env=os.environ | {
            "TOM_TEST_PG_ADMIN_URL": postgresql_url("postgres"),
            "TOM_TEST_PG_TEMPLATE": migrated_postgresql_template,
        },
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-2000:]
    assert "on postgresql" in ran.stdout
    assert "# fail 0" in ran.stdout


# The TypeScript store writes SQLite files only so far: run in the SQLite half.
@pytest.mark.engine("sqlite")
def test_the_typescript_store_counts_a_break_glass_decision(migrated_file_db, tmp_path):
    """A break-glass decision the dashboard records stands in for the missing approvals in
    the TypeScript store's rule too: its deploy promotes the proposal."""
    db = tmp_path / "tom_runtime.sqlite"
    shutil.copy(migrated_file_db, db)

    def typescript(*args: str) -> str:
        return subprocess.run(
            [typescript_node(), str(REPO / "tests" / "ts_break_glass.mjs"), str(db), *args],
            capture_output=True, text=True, timeout=60, check=True,
        ).stdout  # fmt: skip

    proposal_id = typescript("draft")
    override = (
        "from memory_app.store import RuntimeMemoryStore\n"
        f"r = RuntimeMemoryStore().record_override({proposal_id!r}, actor='sam', reason='outage')\n"
        "print(r.verdict.status, ' '.join(r.verdict.bypassed))\n"
    )
    recorded = manage(db, "shell", "--no-imports", "-c", override, TOM_BREAK_GLASS="1")
    assert recorded.stdout.splitlines()[-1] == "approved policy security", recorded.stderr
    assert typescript("deploy", proposal_id) == "promoted"
