"""python -m tommemory_verify BUNDLE.json --key audit.key.pub [--origin LOG]

Says whether an audit bundle is authentic and complete: exit 0 when it is, 1 when it is
not (each problem on a FAIL line), 2 when it cannot be checked at all (a bundle or key
that is not what it should be: one line, "cannot check: ..."). Standard library and
``cryptography`` only: no Django, no database.
"""

import argparse
import sys
from pathlib import Path

from .bundle import Malformed, read_bundle, verify
from .note import NoteError, parse_verifier_key

CANNOT_CHECK = 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tommemory_verify", description=__doc__)
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--key", type=Path, required=True, help="the log's verifier key file")
    parser.add_argument(
        "--origin",
        default=None,
        help="the log the checkpoint must be of (default: the verifier key's name, which "
        "audit_keygen sets to the log's origin)",
    )
    args = parser.parse_args(argv)
    try:
        name, public_key = parse_verifier_key(args.key.read_text(encoding="utf-8"))
        bundle = read_bundle(args.bundle.read_text(encoding="utf-8"))
        problems, summary = verify(bundle, name, public_key, args.origin or name)
    except (OSError, UnicodeDecodeError, NoteError, Malformed) as error:
        return _cannot_check(str(error))
    except RecursionError:
        return _cannot_check("the bundle is nested too deeply to read")
    except Exception as error:  # an auditor gets one line, never a traceback
        return _cannot_check(f"the verifier failed on this input ({type(error).__name__}: {error})")
    for problem in problems:
        print(f"FAIL: {problem}")
    if problems:
        print("NOT authentic and complete")
        return 1
    print(f"OK: authentic and complete: {summary}")
    return 0


def _cannot_check(why: str) -> int:
    print("cannot check: " + " ".join(why.split()), file=sys.stderr)
    return CANNOT_CHECK


if __name__ == "__main__":
    sys.exit(main())
