"""python -m tommemory_verify BUNDLE.json --key audit.key.pub

Says whether an audit bundle is authentic and complete; exit 0 when it is, 1 when not.
Standard library and ``cryptography`` only: no Django, no database.
"""

import argparse
import json
import sys
from pathlib import Path

from .bundle import verify_bundle
from .note import NoteError, parse_verifier_key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tommemory_verify", description=__doc__)
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--key", type=Path, required=True, help="the log's verifier key file")
    args = parser.parse_args(argv)
    try:
        name, public_key = parse_verifier_key(args.key.read_text())
        bundle = json.loads(args.bundle.read_text())
    except (OSError, ValueError, NoteError) as error:
        print(f"cannot check: {error}", file=sys.stderr)
        return 1
    problems, summary = verify_bundle(bundle, name, public_key)
    for problem in problems:
        print(f"FAIL: {problem}")
    if problems:
        print("NOT authentic and complete")
        return 1
    print(f"OK: authentic and complete: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
