"""Who is the same person (contract/people.json): one key for a name in both languages.

The Python key (memory_app/promotion/people.py) and the TypeScript one
(runtime-store-ts/src/people.ts) are compared on the contract's examples, on every code point, and
on Hypothesis-made names built from the characters where they could part: invisible ones,
whitespace, combining marks, case pairs, compatibility forms, and characters Unicode assigned after
15.1 (which Node's ICU knows and the contract does not)."""

import json
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memory_app.promotion.people import CONTRACT, has_visible, person_key, same_person
from tests.helpers import REPO, typescript_node

# Nothing here depends on the database engine: it runs once, in the SQLite half.
pytestmark = pytest.mark.engine_free

EXAMPLES = [(kind, names) for example in CONTRACT["examples"] for kind, names in example.items()]


@pytest.mark.parametrize(("kind", "names"), EXAMPLES, ids=[n[0] for _, n in EXAMPLES])
def test_the_contract_s_examples_hold_in_python(kind, names):
    keys = {person_key(name) for name in names}
    if kind == "same":
        assert len(keys) == 1, keys
        assert keys != {""}
        assert all(same_person(names[0], name) for name in names)
    elif kind == "nobody":
        assert keys == {""}
        assert not any(same_person(name, name) for name in names)  # nobody is nobody's
    else:
        assert len(keys) == len(names), keys
        assert not same_person(*names)


def test_the_tables_are_unicode_15_1():
    made = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make_people_contract.py"), "--check"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr


def typescript_keys(*args: str, stdin: str = "") -> str:
    if not (REPO / "runtime-store-ts" / "dist" / "index.js").exists():
        pytest.fail("the TypeScript store is not built: run scripts/test-store-ts (make test does)")
    return subprocess.run(
        [typescript_node(), str(REPO / "tests" / "ts_people.mjs"), *args],
        input=stdin, capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip


def test_both_languages_give_every_code_point_the_same_key():
    theirs = json.loads(typescript_keys("every"))
    ours = [person_key(chr(code)) for code in range(0x110000)]
    differ = [
        f"U+{c:04X}: {ours[c]!r} != {theirs[c]!r}" for c in range(0x110000) if ours[c] != theirs[c]
    ]
    assert not differ, differ[:20]


def test_both_languages_say_alike_which_code_points_are_visible():
    theirs = typescript_keys("visible")
    ours = "".join("1" if has_visible(chr(code)) else "0" for code in range(0x110000))
    differ = [
        f"U+{c:04X}: {ours[c]} != {theirs[c]}" for c in range(0x110000) if ours[c] != theirs[c]
    ]
    assert not differ, differ[:20]
    assert not has_visible("\u2800\u3164 \u200b")  # blank-looking and invisible alone
    assert person_key("\u2800") == ""  # and a name of them names nobody


def test_both_languages_give_the_contract_s_examples_the_same_keys():
    names = [name for _, group in EXAMPLES for name in group]
    assert json.loads(typescript_keys("lines", stdin=json.dumps(names) + "\n")) == [
        person_key(name) for name in names
    ]


# Characters where the two could part, mixed into any text.
TRICKY = [
    *"\u200b\u200c\u200d\u2060\ufeff\u00ad\u034f\u061c\u180e\u3164\ufe0f\U000e0041\U000e0100",
    *"\t\n\u0085\u00a0\u1680\u2003\u2028\u202f\u3000 ",
    *"\u0301\u0307\u0323\u0345\u0308",
    *"\u00df\u1e9e\u03a3\u03c2\u03c3\u0130\u0131\u212a\u017f\u13a0\uab70\u01c5\u1e9b\u1f88\u0149",
    *"\ufb01\uff21\u2460\u338f\u00b5\u2126\U0001d400\u3392",
    # Assigned after Unicode 15.1: the contract keeps them as they are, Node would not.
    *"\u1c89\u1c8a\ua7cb\U000105c9\U00011382\U000113c9\U00011383\U00016d67\U00016d68",
    "\ud800",
    "\udfff",  # lone surrogates: a JavaScript string may hold them
]
NAMES = st.text(st.one_of(st.sampled_from(TRICKY), st.characters(exclude_categories=())))


@pytest.fixture(scope="module")
def typescript_process():
    if not (REPO / "runtime-store-ts" / "dist" / "index.js").exists():
        pytest.fail("the TypeScript store is not built: run scripts/test-store-ts (make test does)")
    process = subprocess.Popen(
        [typescript_node(), str(REPO / "tests" / "ts_people.mjs"), "lines"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    yield process
    process.stdin.close()
    process.wait(timeout=30)


@given(names=st.lists(NAMES, min_size=1, max_size=50))
def test_both_languages_give_any_name_the_same_key(typescript_process, names):
    typescript_process.stdin.write(json.dumps(names) + "\n")
    typescript_process.stdin.flush()
    assert json.loads(typescript_process.stdout.readline()) == [person_key(n) for n in names]


@given(name=NAMES)
def test_a_key_is_its_own_key(name):
    # So a name written as another name's key is that person, and keys can be stored.
    assert person_key(person_key(name)) == person_key(name)
