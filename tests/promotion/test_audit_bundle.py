"""Audit bundles: checked with the public key alone, forged ones refused."""

import json
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from memory_app.management.commands.audit_checkpoint import signing_key
from tests.helpers import REPO, audit_triggers_lifted, checkpoint
from tommemory_verify.__main__ import main as verifier_main
from tommemory_verify.note import sign, verifier_key

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


def audit(bundle: Path, key: Path, *more: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", AUDITOR, str(bundle), "--key", str(key), *more],
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
    assert "every row of it the checkpoint holds" in checked.stdout
    assert "and the proposal as stored then (risk 'high', status '" in checked.stdout
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


# --- complete means complete: the checkpoint commits to each proposal's rows and row -----


@pytest.fixture
def lineage(store, clock, settings):
    """A high-risk proposal with every kind of row: a passing validation, two decisions, a
    break-glass for the missing one, a deploy outcome and a later failing validation."""
    settings.TOM_BREAK_GLASS = True
    steps = iter(f"2026-12-01T{hour:02d}:00:00.000Z" for hour in range(9, 15))
    clock.set(next(steps))
    skill = store.learn_skill("lineage", "d", source_type="doc", confidence=0.7)
    proposal = store.draft_proposal(
        skill.id, proposed_by="oxide", proposal_type="code_patch",
        proposal={"diff": "--- a\n+++ b\n"}, risk_level="high",
    )  # fmt: skip
    store.record_validation(
        proposal.id, validator="ci", build_pass=1, lint_pass=1, test_pass=1, policy_pass=1
    )
    for who, kind in (("ann", "human"), ("bob", "policy")):
        clock.set(next(steps))
        store.record_approval(proposal.id, approver=who, approval_type=kind, decision="approved")
    clock.set(next(steps))
    store.record_override(proposal.id, actor="sam", reason="outage")
    clock.set(next(steps))
    store.record_deploy_outcome(proposal.id, deployment_target="prod", status="succeeded")
    clock.set(next(steps))
    store.record_validation(
        proposal.id, validator="ci", build_pass=1, lint_pass=1, test_pass=0, policy_pass=1
    )
    return proposal


@pytest.fixture
def full(tmp_path, keys, lineage):
    return bundle_of(lineage, checkpoint(tmp_path, keys), tmp_path)


def test_a_bundle_of_every_kind_of_row_is_complete(full, keys):
    checked = audit(full, keys[1])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "OK: authentic and complete: 6 rows of proposal" in checked.stdout
    assert "in the log tommemory/decisions of 6 entries" in checked.stdout


def _is_newest_decision(entry: dict) -> bool:
    return entry["kind"] == "approval" and entry["row"]["approver"] == "bob"


def _is_failing_validation(entry: dict) -> bool:
    return entry["kind"] == "validation" and entry["row"]["test_pass"] == 0


@pytest.mark.parametrize(
    ("left_out", "named"),
    [
        # The chain of decisions alone reads whole without its last link.
        (_is_newest_decision, "the checkpoint holds 6 rows of this proposal, the bundle 5"),
        (lambda e: e["kind"] == "override", "1 left out"),
        (lambda e: e["kind"] == "deploy", "1 left out"),
        (_is_failing_validation, "the proposal's newest row in the log (entry #5) is left out"),
    ],
    ids=["newest approval", "break-glass", "deploy outcome", "later failing validation"],
)
def test_a_bundle_that_leaves_out_a_row_the_checkpoint_holds_is_refused(
    full, keys, left_out, named
):
    def drop(data):
        kept = [e for e in data["entries"] if not left_out(e)]
        assert len(kept) == len(data["entries"]) - 1
        data["entries"] = kept

    checked = audit(forge(full, drop), keys[1])
    assert checked.returncode == 1, checked.stdout
    assert named in checked.stdout
    assert "NOT authentic and complete" in checked.stdout


def test_a_bundle_without_the_newest_decision_is_refused(bundle, keys):
    """Decisions #1 and #2 still chain from the first without a gap: only the signed head
    knows there was a #3."""

    def drop_newest(data):
        newest = data["entries"].pop()
        assert newest["evidence"]["seq"] == 3

    checked = audit(forge(bundle, drop_newest), keys[1])
    assert checked.returncode == 1
    assert "FAIL: the checkpoint holds 4 rows of this proposal, the bundle 3" in checked.stdout
    assert "the proposal's newest row in the log (entry #3) is left out" in checked.stdout


def test_a_left_out_row_with_a_head_to_match_is_refused(full, keys):
    """The forger also rewrites the head to count one row fewer: that head is not signed."""

    def drop_and_recount(data):
        data["entries"] = [e for e in data["entries"] if e["kind"] != "deploy"]
        data["head"]["leaves"] -= 1

    checked = audit(forge(full, drop_and_recount), keys[1])
    assert checked.returncode == 1
    assert "in the bundle is not the one the checkpoint signed" in checked.stdout


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("risk_level", "low"),
        ("proposal_json", '{"diff":"--- a\\n+++ b\\n+harmless"}'),
        ("status", "approved"),
    ],
)
def test_an_edited_proposal_is_refused(full, keys, field, value):
    def edit(data):
        assert data["proposal"][field] != value
        data["proposal"][field] = value

    checked = audit(forge(full, edit), keys[1])
    assert checked.returncode == 1
    assert "the 'proposal' object is not the proposal row the checkpoint commits to" in (
        checked.stdout
    )


def test_a_checkpoint_of_another_log_signed_by_the_same_key_is_refused(full, keys):
    """One key, two logs (say staging and production): staging's checkpoint, with the same
    signature line, must not pass for production's."""
    key = signing_key(keys[0])

    def other_log(data):
        text = data["checkpoint"].split("\n\n")[0] + "\n"
        text = text.replace("tommemory/decisions\n", "tommemory/staging\n", 1)
        data["checkpoint"] = sign(text, "tommemory/decisions", key)

    checked = audit(forge(full, other_log), keys[1])
    assert checked.returncode == 1
    assert "the checkpoint is of the log 'tommemory/staging', not of 'tommemory/decisions'" in (
        checked.stdout
    )
    # An auditor of that log says so.
    asked = audit(full, keys[1], "--origin", "tommemory/staging")
    assert asked.returncode == 0, asked.stdout


def test_a_checkpoint_signed_before_proposal_heads_cannot_prove_a_bundle_complete(
    tmp_path, full, keys, lineage
):
    key = signing_key(keys[0])

    def old_checkpoint(data):
        lines = data["checkpoint"].split("\n\n")[0].split("\n")
        data["checkpoint"] = sign("\n".join(lines[:4]) + "\n", "tommemory/decisions", key)

    checked = audit(forge(full, old_checkpoint), keys[1])
    assert checked.returncode == 1
    assert "signed before checkpoints committed to each proposal's rows" in checked.stdout
    data = json.loads(full.read_text())
    data["format"] = "tommemory-audit-bundle/1"
    full.write_text(json.dumps(data))
    checked = audit(full, keys[1])
    assert checked.returncode == 2
    assert checked.stderr.startswith("cannot check: a tommemory-audit-bundle/1 bundle")
    # Nor does audit_bundle make one against such a checkpoint.
    directory = tmp_path / "checkpoints"
    note = next(directory.glob("*.note"))
    note.write_text(json.loads(full.read_text())["checkpoint"])
    with pytest.raises(CommandError, match="signed before checkpoints committed"):
        bundle_of(lineage, directory, tmp_path)


def test_a_proposal_changed_after_the_checkpoint_gets_no_bundle_until_the_next(
    tmp_path, keys, lineage
):
    directory = checkpoint(tmp_path, keys)
    with audit_triggers_lifted() as cursor:
        cursor.execute(
            "UPDATE skill_to_logic_proposals SET risk_level = 'low' WHERE id = %s", [lineage.pk]
        )
    with pytest.raises(CommandError, match=r"changed after the newest checkpoint \(its row"):
        bundle_of(lineage, directory, tmp_path)
    made = bundle_of(lineage, checkpoint(tmp_path, keys), tmp_path)
    assert json.loads(made.read_text())["proposal"]["risk_level"] == "low"
    assert audit(made, keys[1]).returncode == 0


def test_no_checkpoint_is_signed_over_a_row_changed_behind_the_log(tmp_path, keys, lineage):
    with audit_triggers_lifted() as cursor:
        cursor.execute("UPDATE deploy_outcomes SET status = 'failed'")
    with pytest.raises(CommandError, match=r"entry #4 \(deploy .*\) no longer matches its row"):
        checkpoint(tmp_path, keys)
    assert not list((tmp_path / "checkpoints").glob("*.note"))


def test_a_proposal_without_rows_has_a_bundle_of_none(tmp_path, keys, store):
    skill = store.learn_skill("quiet", "d", source_type="doc", confidence=0.5)
    proposal = store.draft_proposal(
        skill.id, proposed_by="oxide", proposal_type="code_patch", proposal={}, risk_level="low"
    )
    made = bundle_of(proposal, checkpoint(tmp_path, keys), tmp_path)
    checked = audit(made, keys[1])
    assert checked.returncode == 0, checked.stdout
    assert "OK: authentic and complete: 0 rows of proposal" in checked.stdout


# --- a malformed bundle: one line, never a traceback --------------------------------------


def check_in_process(bundle: Path, key: Path) -> tuple[int, str, str]:
    """The verifier's main(), as the command line runs it, with what it printed."""
    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = verifier_main([str(bundle), "--key", str(key)])
    return code, out.getvalue(), err.getvalue()


def assert_answered(code: int, out: str, err: str) -> None:
    """Exit 2 with one "cannot check" line, or 1 with FAIL lines, or 0 with OK."""
    if code == 2:
        assert out == ""
        assert err.startswith("cannot check: "), err
        assert err.count("\n") == 1, err
        assert "the verifier failed on this input" not in err, err
    elif code == 1:
        *fails, last = out.splitlines()
        assert last == "NOT authentic and complete", out
        assert fails, out
        assert all(line.startswith("FAIL: ") for line in fails), out
        assert err == ""
    else:
        assert code == 0
        assert out.startswith("OK: authentic and complete: ")
        assert err == ""


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        "[" * 100_000,
        '{"format": "tommemory-audit-bundle/2"}',
        "1" * 5000,
        '{"a": 1, "a": 2}',
        "\udcff",
    ],
)
def test_input_that_is_no_bundle_gets_one_line(tmp_path, keys, text):
    bundle = tmp_path / "bundle.json"
    bundle.write_text(text, encoding="utf-8", errors="surrogateescape")
    code, out, err = check_in_process(bundle, keys[1])
    assert code == 2
    assert_answered(code, out, err)


def json_values():
    scalars = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.sampled_from([-1, 2**63, 10**400, 0.5, float("nan"), float("inf")])
        | st.text(max_size=20)
        | st.sampled_from(["", "00" * 32, "AB" * 32, "zz", "====", "-1", "\n\n"])
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=6,
    )


ROOT = "A" * 43 + "="
ODD_NOTE_LINES = [
    "", "-1", "+1", "07", "9" * 30, "9" * 5000, "\u0663", ROOT[:-1], "====", "\u00e9" * 44,
    f"tommemory-proposal-heads 1 {ROOT}", "tommemory-proposal-heads x y",
    "tommemory-proposal-heads 1", f"tommemory-proposal-heads {'9' * 5000} {ROOT}",
    "\u2014 tommemory/decisions AAAA", "\u2014 tommemory/decisions \u00e9",
    "\u2014 tommemory/decisions " + "A" * 200, "\ud800",
]  # fmt: skip


def note_lines():
    return st.sampled_from(ODD_NOTE_LINES) | st.text(max_size=50)


def test_every_line_of_the_note_garbled_gets_an_answer(full, keys):
    """Each line of the signed checkpoint replaced by each odd value: huge or mis-spelled
    sizes, bad base64, broken extension and signature lines."""
    data = json.loads(full.read_text())
    lines = data["checkpoint"].split("\n")
    target = full.with_name("garbled.json")
    for n in range(len(lines)):
        for odd in ODD_NOTE_LINES:
            data["checkpoint"] = "\n".join([*lines[:n], odd, *lines[n + 1 :]])
            target.write_text(json.dumps(data))
            code, out, err = check_in_process(target, keys[1])
            assert_answered(code, out, err)
            assert code != 0 or odd == lines[n]


@st.composite
def garbled(draw, text: str) -> str:
    """A valid bundle's text, garbled one way or another."""
    how = draw(
        st.sampled_from(["truncate", "character", "value", "drop key", "add key", "note line"])
    )
    if how == "note line":  # the signed note's lines: size, root, extensions, signatures
        data = json.loads(text)
        lines = data["checkpoint"].split("\n")
        lines[draw(st.integers(0, len(lines) - 1))] = draw(note_lines())
        data["checkpoint"] = "\n".join(lines)
        return json.dumps(data)
    if how == "truncate":
        return text[: draw(st.integers(0, len(text) - 1))]
    if how == "character":
        at = draw(st.integers(0, len(text) - 1))
        return text[:at] + draw(st.characters()) + text[at + 1 :]
    data = json.loads(text)
    parent, key = None, None
    node = data
    # Walk down to a random place: the top, an object's key or a list's item.
    while isinstance(node, dict | list) and node and draw(st.integers(0, 3)):
        parent = node
        key = draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))))
        node = node[key]
    if how == "value" and parent is not None:
        parent[key] = draw(json_values())
    elif how == "drop key" and isinstance(parent, dict):
        del parent[key]
    elif isinstance(node, dict):
        node[draw(st.text(max_size=8))] = draw(json_values())
    else:
        return json.dumps(draw(json_values()))
    return json.dumps(data, ensure_ascii=draw(st.booleans()))


def _same(a: str, b: str) -> bool:
    try:
        return json.dumps(json.loads(a), sort_keys=True) == json.dumps(
            json.loads(b), sort_keys=True
        )
    except ValueError:
        return False


@given(data=st.data())
def test_a_garbled_bundle_is_refused_in_one_line_or_found_forged_never_a_traceback(
    full, keys, data
):
    text = full.read_text()
    mangled = data.draw(garbled(text))
    target = full.with_name("garbled.json")
    target.write_text(mangled, encoding="utf-8", errors="surrogatepass")
    code, out, err = check_in_process(target, keys[1])
    assert_answered(code, out, err)
    if code == 0:
        assert _same(mangled, text), "a changed bundle was accepted"
