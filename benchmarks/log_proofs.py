"""Proofs from the log's tiles stay flat in the log's size: the proposal page, a bundle and
verify_audit --checkpoint --proposal on logs of a thousand, a hundred thousand and a million
entries.

    .venv/bin/python benchmarks/log_proofs.py [--sizes 1000 100000 1000000] [--runs 15]

For each size, a fresh SQLite file: one high-risk proposal decided through the store (a
validation and three decisions: the proposal measured), then another writer's validations
of one proposal in ten until the log holds that many entries (taken in 100,000 at a time),
and a signed checkpoint over them all. Then, in this process with production settings, the
median of ``--runs`` of: the proposal page (Django's test client, signed in, its badge
verified against the checkpoint), ``audit_bundle`` of the proposal, and ``verify_audit
--checkpoint --proposal``; for comparison, what the badge did before the tiles (every leaf
hash read, the tree and a consistency proof made again), and the whole-log ``verify_audit
--checkpoint`` once (it reads every entry and row by design). Seeding a million entries and
signing over them takes a few minutes; the timings themselves take seconds.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import REPO, production_env

BATCH = 100_000


def parent(args: argparse.Namespace) -> None:
    rows = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as scratch:
            place = Path(scratch) if args.keep is None else args.keep / str(size)
            place.mkdir(parents=True, exist_ok=True)
            env = production_env(place / "log.sqlite") | {
                "DJANGO_ALLOWED_HOSTS": "127.0.0.1,testserver"
            }
            manage = [sys.executable, str(REPO / "manage.py")]
            if not (place / "seeded").exists():
                subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
            subprocess.run([*manage, "collectstatic", "--no-input", "-v0"], env=env, check=True)
            child = [sys.executable, __file__, "--child", str(size), "--runs", str(args.runs)]
            done = subprocess.run(
                [*child, "--dir", str(place)], env=env, check=True, capture_output=True, text=True
            )
            result = json.loads(done.stdout.strip().splitlines()[-1])
            print(json.dumps(result), file=sys.stderr)
            rows.append(result)
    print(f"{'entries':>10} {'page ms':>9} {'bundle ms':>10} {'verify --proposal ms':>21} "
          f"{'before: every leaf ms':>22} {'whole-log verify s':>19}")  # fmt: skip
    for r in rows:
        print(
            f"{r['entries']:>10,} {r['page']:>9.1f} {r['bundle']:>10.1f} "
            f"{r['verify_proposal']:>21.1f} {r['every_leaf']:>22.1f} {r['whole_verify']:>19.1f}"
        )


def median_ms(work, runs: int) -> float:
    work()  # warm: the first run reads the file into the page cache
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def seed(size: int, keys: Path, directory: Path) -> tuple:
    """The measured proposal through the store, another writer's validations up to ``size``
    entries, and a checkpoint signed over them: (the proposal, what it took)."""
    from io import StringIO

    from django.core.management import call_command
    from django.db import connection
    from django.test import override_settings

    from memory_app.promotion import decision_log
    from memory_app.promotion.models import AuditLeaf
    from memory_app.store import RuntimeMemoryStore

    store = RuntimeMemoryStore()
    skill = store.learn_skill("bench-log", "d", source_type="doc", confidence=0.7)
    decided = store.draft_proposal(
        skill.id, proposed_by="oxide", proposal_type="code_patch",
        proposal={"diff": "--- a\n+++ b\n"}, risk_level="high",
    )  # fmt: skip
    store.record_validation(
        decided.id, validator="ci", build_pass=1, lint_pass=1, test_pass=1, policy_pass=1
    )
    for who, kind in [("ann", "human"), ("bob", "policy"), ("cy", "security")]:
        store.record_approval(decided.id, approver=who, approval_type=kind, decision="approved")
    filler = size - AuditLeaf.objects.count()
    proposals = max(1, filler // 10)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO skill_to_logic_proposals (id, skill_id, proposed_by, proposal_type, "
            "proposal_json, risk_level, status, created_at, updated_at) VALUES "
            "(%s, %s, 'oxide', 'code_patch', '{}', 'low', 'validated', %s, %s)",
            [(f"p-{n:07d}", skill.id, "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z")
             for n in range(proposals)],
        )  # fmt: skip
    for first in range(0, filler, BATCH):
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO validation_results (id, proposal_id, validator, build_pass, "
                "lint_pass, test_pass, policy_pass, validated_at) "
                "VALUES (%s, %s, 'ci', 1, 1, 1, 1, %s)",
                [(f"v-{n:08d}", f"p-{n % proposals:07d}",
                  f"2026-02-01T{n // 3_600_000 % 24:02d}:"
                  f"{n // 60_000 % 60:02d}:{n // 1000 % 60:02d}.{n % 1000:03d}Z")
                 for n in range(first, min(first + BATCH, filler))],
            )  # fmt: skip
        decision_log.take_in()
    seeded = time.perf_counter() - started
    with override_settings(TOM_AUDIT_KEY=keys, TOM_AUDIT_PUBLIC_KEY=Path(f"{keys}.pub")):
        call_command("audit_keygen", stdout=StringIO())
    started = time.perf_counter()
    with override_settings(TOM_AUDIT_KEY=keys):
        call_command("audit_checkpoint", "--dir", str(directory), stdout=StringIO())
    signing = time.perf_counter() - started
    took = {"proposals": proposals + 1, "seed_s": round(seeded, 1), "sign_s": round(signing, 1)}
    return decided, took


def child(size: int, runs: int, tmp: Path) -> None:
    import django

    django.setup()
    from io import StringIO

    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.test import Client, override_settings

    from memory_app.promotion import log_tiles
    from memory_app.promotion.models import AuditLeaf, Proposal
    from tommemory_verify import merkle

    keys = tmp / "keys" / "audit.key"
    directory = tmp / "checkpoints"
    if (tmp / "seeded").exists():  # --keep: seeded and signed by an earlier run
        decided = Proposal.objects.get(skill__skill_key="bench-log", risk_level="high")
        result = json.loads((tmp / "seeded").read_text())
    else:
        decided, result = seed(size, keys, directory)
        (tmp / "seeded").write_text(json.dumps(result))
    entries = AuditLeaf.objects.count()
    assert entries == size == log_tiles.tree_size(), (entries, size)

    reviewer, _ = User.objects.get_or_create(username="bench-log-reviewer")
    reviewer.groups.add(Group.objects.get(name="reviewer"))
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(reviewer)
    served = {"TOM_AUDIT_CHECKPOINTS": directory, "TOM_AUDIT_PUBLIC_KEY": Path(f"{keys}.pub")}
    page = f"/proposals/{decided.id}/"

    def get_page():
        response = client.get(page)
        assert response.status_code == 200
        assert b'class="audit-badge log-verified"' in response.content

    def bundle():
        call_command(
            "audit_bundle", decided.id, "--checkpoint", str(directory),
            "--out", str(tmp / "bundle.json"), stdout=StringIO(), stderr=StringIO(),
        )  # fmt: skip

    def verify(*more):
        out = StringIO()
        call_command(
            "verify_audit", "--checkpoint", str(directory), "--key", f"{keys}.pub", *more,
            stdout=out, stderr=StringIO(),
        )  # fmt: skip
        assert "decision log intact" in out.getvalue()

    def every_leaf():  # what the badge read and made again before the tiles
        hashes = [
            bytes.fromhex(h)
            for h in AuditLeaf.objects.order_by("index").values_list("leaf_hash", flat=True)
        ]
        old = len(hashes) - 1
        merkle.verify_consistency(
            old, len(hashes), merkle.consistency_proof(old, hashes),
            merkle.root(hashes[:old]), merkle.root(hashes),
        )  # fmt: skip

    with override_settings(**served):
        result |= {
            "entries": entries,
            "db_mb": round(sum(p.stat().st_size for p in tmp.glob("log.sqlite*")) / 1e6, 1),
            "page": median_ms(get_page, runs),
            "bundle": median_ms(bundle, runs),
            "verify_proposal": median_ms(lambda: verify("--proposal", decided.id), runs),
            "every_leaf": median_ms(every_leaf, 3),
        }
        started = time.perf_counter()
        verify()
        result["whole_verify"] = time.perf_counter() - started
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--keep", type=Path, help="keep each seeded file in KEEP/<size>/, and measure it again"
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.runs, args.dir)
    else:
        parent(args)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tommemory.settings")
    main()
