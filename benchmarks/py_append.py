"""python benchmarks/py_append.py SESSION COUNT: appends COUNT turns, prints seconds taken."""

import sys
import time

import django


def main() -> None:
    django.setup()
    from memory_app.store import RuntimeMemoryStore

    session_id, count = sys.argv[1], int(sys.argv[2])
    store = RuntimeMemoryStore()
    start = time.perf_counter()
    for n in range(count):
        store.append_turn(session_id, "assistant", f"turn {n} from a Python runtime", token_count=8)
    print(time.perf_counter() - start)


if __name__ == "__main__":
    main()
