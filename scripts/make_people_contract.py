"""Write contract/people.json's Unicode tables from Unicode 15.1 (Python 3.13's unicodedata).

    .venv/bin/python scripts/make_people_contract.py          # rewrite the tables
    .venv/bin/python scripts/make_people_contract.py --check  # exit 1 if they differ

The tables are data so that both stores compare names by the same Unicode version whatever
their runtime ships (Node's ICU is newer than Python's unicodedata, and either moves on its
own): case folding, the characters a name ignores, the whitespace it trims, and the code
points Unicode 15.1 does not assign, which NFKC must leave as they are. The rest of the
file (what it says, the steps, the examples) is written by hand and kept as it is.
"""

import json
import sys
import unicodedata
from pathlib import Path

PEOPLE = Path(__file__).resolve().parent.parent / "contract" / "people.json"
UNICODE = "15.1.0"

# Default_Ignorable_Code_Point (DerivedCoreProperties.txt, 15.1): unicodedata has no
# table of it. Invisible by definition (variation selectors, fillers, joiners, tags).
DEFAULT_IGNORABLE = [
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160),
    (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E),
    (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
]  # fmt: skip
# White_Space (PropList.txt): the characters trimmed around a name and run together in it.
WHITE_SPACE = [
    (0x0009, 0x000D), (0x0020, 0x0020), (0x0085, 0x0085), (0x00A0, 0x00A0),
    (0x1680, 0x1680), (0x2000, 0x200A), (0x2028, 0x2029), (0x202F, 0x202F),
    (0x205F, 0x205F), (0x3000, 0x3000),
]  # fmt: skip


def ranges(codes: list[int]) -> list[list[int]]:
    """Sorted code points as inclusive [first, last] runs."""
    runs: list[list[int]] = []
    for code in sorted(set(codes)):
        if runs and runs[-1][1] == code - 1:
            runs[-1][1] = code
        else:
            runs.append([code, code])
    return runs


def expand(runs) -> list[int]:
    return [c for first, last in runs for c in range(first, last + 1)]


def tables() -> dict:
    if unicodedata.unidata_version != UNICODE:
        sys.exit(f"this needs Unicode {UNICODE}; unicodedata has {unicodedata.unidata_version}")
    every = range(0x110000)
    category = [unicodedata.category(chr(c)) for c in every]
    space = set(expand(WHITE_SPACE))
    ignorable = expand(DEFAULT_IGNORABLE) + [
        c for c in every if category[c] == "Cf" or (category[c] == "Cc" and c not in space)
    ]
    return {
        "ignorable": ranges(ignorable),
        "whitespace": ranges(list(space)),
        "unassigned": ranges([c for c in every if category[c] in ("Cn", "Cs")]),
        "casefold": {
            chr(c): chr(c).casefold()
            for c in every
            if category[c] != "Cs" and chr(c).casefold() != chr(c)
        },
    }


def main() -> int:
    contract = json.loads(PEOPLE.read_text())
    derived = tables()
    if "--check" in sys.argv:
        wrong = [k for k, v in derived.items() if contract.get(k) != v]
        if wrong:
            print(f"{PEOPLE} differs from Unicode {UNICODE} in: {', '.join(wrong)}")
            return 1
        return 0
    contract.update(unicode_version=UNICODE, **derived)
    PEOPLE.write_text(dump(contract))
    return 0


def dump(contract: dict) -> str:
    """One key a line; a long list or table wrapped at about 96 characters, so diffs read."""
    lines = []
    for key, value in contract.items():
        text = json.dumps(value)
        if isinstance(value, (list, dict)) and len(text) > 90:
            if isinstance(value, dict):
                parts = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in value.items()]
            else:
                parts = [json.dumps(v) for v in value]
            rows = [parts[0]]
            for part in parts[1:]:
                if len(rows[-1]) + len(part) > 94:
                    rows.append(part)
                else:
                    rows[-1] += ", " + part
            open_, close = "{}" if isinstance(value, dict) else "[]"
            text = open_ + "\n  " + ",\n  ".join(rows) + "\n " + close
        lines.append(f" {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


if __name__ == "__main__":
    sys.exit(main())
