"""Audit bundles: checked with the public key alone, forged ones refused."""

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.test import override_settings

from tommemory_verify.note import sign, verifier_key

from .conftest import REPO, checkpoint

pytestmark = pytest.mark.django_db

# Runs the verifier as an auditor would, and says whether it needed Django.
AUDITOR = (
    "import runpy, sys\n"
    "sys.argv = ['tommemory_verify', *sys.argv[1:]]\n"
    "try:\n"
    "    runpy.run_module('tommemory_verify', run_name='__main__')\n"
    "except SystemExit as done:\n"
    "    print('django loaded' if 'django' in sys.modules else 'no django')\n"
    "    sys.exit(done.code)\n"
)


def bundle_of(proposal, directory: Path, tmp_path: Path) -> Path:
    out = tmp_path / "bundle.json"
    call_command(
        "audit_bundle", proposal.pk, "--checkpoint", str(directory), "--out", str(out),
        stderr=StringIO(),
    )  # fmt: skip
    return out


def audit(bundle: Path, key: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", AUDITOR, str(bundle), "--key", str(key)],
        cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.fixture
def bundle(tmp_path, keys, decided):
    return bundle_of(decided, checkpoint(tmp_path, keys), tmp_path)


def forge(bundle: Path, change) -> Path:
    data = json.loads(bundle.read_text())
    change(data)
    bundle.write_text(json.dumps(data))
    return bundle


def test_a_bundle_is_authentic_and_complete_without_django_or_the_database(bundle, keys):
    checked = audit(bundle, keys[1])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "OK: authentic and complete: 4 rows of proposal" in checked.stdout
    assert "no django" in checked.stdout


def test_an_edited_decision_is_not_in_the_signed_log(bundle, keys):
    def edit(data):
        data["entries"][2]["row"]["decision"] = "rejected"

    checked = audit(forge(bundle, edit), keys[1])
    assert checked.returncode == 1
    assert "FAIL: entry #2 (approval" in checked.stdout
    assert "is not in the signed log" in checked.stdout


def test_a_dropped_decision_breaks_completeness(bundle, keys):
    def drop(data):
        del data["entries"][2]

    checked = audit(forge(bundle, drop), keys[1])
    assert checked.returncode == 1
    assert "decision #2 of the chain is missing from the bundle" in checked.stdout


def test_a_dropped_validation_is_missed(bundle, keys):
    def drop(data):
        data["entries"] = [e for e in data["entries"] if e["kind"] != "validation"]

    checked = audit(forge(bundle, drop), keys[1])
    assert "which decision #1 was given against, is missing" in checked.stdout


def test_another_proposal_s_rows_do_not_pass(bundle, keys):
    def swap(data):
        data["proposal"]["id"] = "another-proposal"

    checked = audit(forge(bundle, swap), keys[1])
    assert "belongs to another proposal" in checked.stdout


def test_a_checkpoint_signed_by_another_key_or_edited_is_refused(bundle, keys):
    data = json.loads(bundle.read_text())
    text = data["checkpoint"].split("\n\n")[0] + "\n"
    forged_key = Ed25519PrivateKey.generate()
    data["checkpoint"] = sign(text, "tommemory/decisions", forged_key)
    bundle.write_text(json.dumps(data))
    checked = audit(bundle, keys[1])
    assert checked.returncode == 1
    assert "the checkpoint: the note carries no signature" in checked.stdout
    # The forger's own key would accept it: the auditor's key file is what counts.
    other = keys[1].with_name("forger.pub")
    other.write_text(verifier_key("tommemory/decisions", forged_key.public_key()))
    assert audit(bundle, other).returncode == 0


def test_a_row_not_yet_checkpointed_is_refused_with_the_next_step(tmp_path, keys, decided, store):
    directory = checkpoint(tmp_path, keys)
    store.record_deploy_outcome(decided.pk, deployment_target="prod", status="succeeded")
    with pytest.raises(CommandError, match="not in the newest checkpoint yet: run"):
        bundle_of(decided, directory, tmp_path)


def test_no_checkpoint_at_all_says_what_to_run(tmp_path, decided):
    with (
        override_settings(TOM_AUDIT_CHECKPOINTS=tmp_path / "none"),
        pytest.raises(CommandError, match=r"run `python manage.py audit_checkpoint` first"),
    ):
        call_command("audit_bundle", decided.pk, stdout=StringIO())


def test_a_break_glass_decision_travels_in_the_bundle_as_its_own_kind(
    tmp_path, keys, store, settings
):
    settings.TOM_BREAK_GLASS = True
    skill = store.learn_skill("glass", "d", source_type="doc", confidence=0.5)
    proposal = store.draft_proposal(
        skill.id, proposed_by="oxide", proposal_type="code_patch", proposal={}, risk_level="low"
    )
    store.record_validation(
        proposal.id, validator="ci", build_pass=1, lint_pass=1, test_pass=1, policy_pass=1
    )
    store.record_override(proposal.id, actor="sam", reason="outage")
    made = bundle_of(proposal, checkpoint(tmp_path, keys), tmp_path)
    kinds = [e["kind"] for e in json.loads(made.read_text())["entries"]]
    assert kinds == ["validation", "override"]

    def edit(data):
        data["entries"][1]["row"]["reason"] = "routine"

    assert audit(made, keys[1]).returncode == 0
    checked = audit(forge(made, edit), keys[1])
    assert checked.returncode == 1
    assert "FAIL: entry #1 (override" in checked.stdout
