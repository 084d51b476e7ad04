"""Lighthouse over every page of the production server, signed in, as a phone sees it.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/lighthouse.py [--runs 1] [--page overview ...]

Builds a throw-away demo database (seed_demo, as make run does), gathers the static files
(collectstatic) and serves them with the production server: gunicorn, two workers, debug
off (docs/production.md's command, on plain-HTTP loopback). Signs in through the login form
as a person with every role (reviewer, ops, profile admin: the decision and publish forms
show), and runs Lighthouse 12 in its default mobile emulation (a mid-range phone on slow 4G),
headless Debian chromium with the session cookie set in it (benchmarks/lighthouse_run.mjs:
the CLI's --extra-headers Cookie missed the requests the pages' scripts make), over each
page.

Lighthouse is benchmarks/package.json's, pinned by its lock file and installed by npm ci
when missing: 12.8.2, the last 12 (12.2.3's trace engine cannot read today's chromium's
traces: its layout-shift and LCP-element audits fail). Its trace engine asks for
third-party-web "latest", which package.json's overrides pins to the version the lock
holds; without it npm ci refuses the lock as out of sync.

Prints a table (page, performance, accessibility, best practices, CLS, LCP, TBT; each the median
of --runs) and, below it, every audit that lost points on a page, with the elements it
names. The issue's bar (#22): performance >= 95, accessibility and best practices 100, CLS
<= 0.05 on every page; the exit status is 1 when a page misses it. The full reports stay in
benchmarks/out/lighthouse/<page>.json, the server's log in benchmarks/out/lighthouse/gunicorn.log.
"""

import argparse
import functools
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import urllib.error
from contextlib import closing
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, USER, prepare, signed_in_opener, start_gunicorn, wait_for

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "lighthouse"
CHROMIUM = os.environ.get("TOM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CATEGORIES = ["performance", "accessibility", "best-practices"]
# The same moment as the README's screenshots: the same demo rows every time.
ANCHOR = "2026-11-24T12:00Z"

# (page, a path, or a path pattern and the query naming its row in the demo: the heaviest
# of each kind, a phone's worst case)
PAGES = [
    ("overview", "/"),
    ("activity", "/activity/"),
    ("sessions", "/sessions/"),
    (
        "transcript",
        "/sessions/{}/",
        "SELECT session_id FROM conversation_turns GROUP BY session_id "
        "ORDER BY COUNT(*) DESC, session_id LIMIT 1",
    ),
    ("workflows", "/workflows/"),
    (
        "workflow",
        "/workflows/{}/",
        "SELECT workflow_run_id FROM task_events WHERE workflow_run_id IS NOT NULL "
        "GROUP BY workflow_run_id ORDER BY COUNT(*) DESC, workflow_run_id LIMIT 1",
    ),
    ("proposals", "/proposals/"),
    ("needs me", "/needs-me/"),
    (
        "proposal",
        "/proposals/{}/",
        "SELECT id FROM skill_to_logic_proposals WHERE risk_level = 'critical' "
        "ORDER BY created_at DESC, id LIMIT 1",
    ),
    ("profiles", "/profiles/"),
    ("profile", "/profiles/behavior/tom/"),
    ("publish form", "/profiles/behavior/tom/publish/"),
    ("search", "/sessions/?q=resume"),
]

ATTEMPTS = 3  # per run
# The bar of issue #22.
MIN_PERFORMANCE, MIN_OTHERS, MAX_CLS = 95, 100, 0.05


@functools.cache
def node() -> str:
    """A Node for Lighthouse (>= 18.20): scripts/find-node's (Node 22)."""
    return subprocess.run(
        [REPO / "scripts" / "find-node"], capture_output=True, text=True, check=True
    ).stdout.strip()


def install_lighthouse() -> None:
    """Lighthouse and what drives it, from benchmarks/package-lock.json, when missing or not
    the versions package.json names."""
    wanted = json.loads((HERE / "package.json").read_text())["devDependencies"]
    for package, version in wanted.items():
        installed = HERE / "node_modules" / package / "package.json"
        if not installed.exists() or json.loads(installed.read_text())["version"] != version:
            print("Installing Lighthouse (npm ci in benchmarks/) ...", file=sys.stderr)
            subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE, check=True
            )
            return


def demo_server_env(db: Path) -> dict[str, str]:
    """A migrated demo database with the benchmark user given every role; its server env."""
    env = prepare(db)
    manage = [sys.executable, str(REPO / "manage.py")]
    subprocess.run(
        [*manage, "seed_demo", f"--anchor={ANCHOR}"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    every_role = (
        "from django.contrib.auth.models import User, Group\n"
        f"User.objects.get(username={USER!r}).groups.set(Group.objects.all())\n"
    )
    subprocess.run([*manage, "shell", "-v0", "-c", every_role], env=env, check=True)
    return env


def page_paths(db: Path) -> list[tuple[str, str]]:
    """Each page's path, its row's id read from the demo database."""
    with closing(sqlite3.connect(db)) as connection:
        return [
            (name, path.format(*(connection.execute(query[0]).fetchone() if query else ())))
            for name, path, *query in PAGES
        ]


def status(opener, url: str) -> str:
    """What the page answers: "200", another status, or where it sends the reader (the
    sign-in page, were the session gone). Only a page that answers 200 is measured."""
    try:
        with opener.open(url, timeout=60) as response:
            return str(response.status) if response.url == url else f"-> {response.url}"
    except urllib.error.HTTPError as error:
        return str(error.code)


def run_lighthouse(url: str, cookies: dict[str, str], report: Path) -> dict:
    """One Lighthouse run (mobile emulation, its default) of ``url``, signed in with
    ``cookies`` (lighthouse_run.mjs); its JSON report."""
    command = [node(), str(HERE / "lighthouse_run.mjs"), url, json.dumps(cookies), str(report)]
    env = os.environ | {"CHROME_PATH": CHROMIUM}
    # Now and then a run loses its trace on this busy machine (NO_NAVSTART): tried again.
    for _ in range(ATTEMPTS):
        report.unlink(missing_ok=True)
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        error = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no report"
        if not done.returncode and report.exists():
            result = json.loads(report.read_text())
            # The page measured must be the page asked for, not the sign-in page.
            if result["finalDisplayedUrl"] != url:
                error = f"sent to {result['finalDisplayedUrl']}"
            elif not result.get("runtimeError"):
                return result
    raise RuntimeError(error)


def scores(result: dict) -> dict[str, float]:
    audits = result["audits"]
    return {
        **{c: round(result["categories"][c]["score"] * 100) for c in CATEGORIES},
        "cls": audits["cumulative-layout-shift"]["numericValue"],
        "lcp": audits["largest-contentful-paint"]["numericValue"] / 1000,
        "tbt": audits["total-blocking-time"]["numericValue"],
    }


def _elements(audit: dict, limit: int = 4) -> list[str]:
    """The elements (selectors) or resources an audit names."""
    named = []
    for item in (audit.get("details") or {}).get("items", []):
        node = item.get("node") or {}
        named.append(node.get("selector") or item.get("url") or item.get("source", {}).get("url"))
    named = [n for n in named if n]
    return named[:limit] + ([f"... {len(named) - limit} more"] if len(named) > limit else [])


def lost_points(result: dict) -> list[str]:
    """The audits that cost this page points: accessibility and best practices audits that
    failed, performance metrics scored below 0.9 and the diagnostics Lighthouse says cost
    one (the element that shifted, a DOM too large, ...); then Lighthouse's warnings and the
    audits it could not run here."""
    lines = []
    for category in CATEGORIES:
        for ref in result["categories"][category]["auditRefs"]:
            audit = result["audits"][ref["id"]]
            score = audit.get("score")
            if audit.get("scoreDisplayMode") == "error":
                lines.append(f"{category}: {ref['id']} could not run: {audit['errorMessage']}")
                continue
            bar = 0.9 if category == "performance" else 1
            if score is None or score >= bar:
                continue
            # An unscored diagnostic counts when Lighthouse estimates it costs a metric.
            costs = any((audit.get("metricSavings") or {}).values())
            if not ref.get("weight") and (category != "performance" or not costs):
                continue
            shown = audit.get("displayValue") or ""
            names = "; ".join(_elements(audit))
            lines.append(
                f"{category}: {ref['id']} ({score:.2f}{'' if ref.get('weight') else ', unscored'})"
                f" {audit['title']} {shown}" + (f" [{names}]" if names else "")
            )
    for shift in (result["audits"]["layout-shifts"].get("details") or {}).get("items", []):
        node = shift.get("node") or {}
        lines.append(f"layout shift {shift['score']:.3f}: {node.get('selector')}")
    return lines + [f"warning: {w}" for w in result.get("runWarnings", [])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs per page; medians shown")
    parser.add_argument("--port", type=int, default=8771)
    parser.add_argument("--page", action="append", help="only these pages (by name)")
    args = parser.parse_args()
    install_lighthouse()
    OUT.mkdir(parents=True, exist_ok=True)
    rows, problems, benchmark_indexes = [], {}, []
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "demo.sqlite"
        env = demo_server_env(db)
        log = (OUT / "gunicorn.log").open("w")  # a page that fails says why there
        server = start_gunicorn(env, args.port, log=log)
        base = f"http://127.0.0.1:{args.port}"
        try:
            wait_for(base + "/accounts/login/")
            opener = signed_in_opener(base)
            jar = next(h.cookiejar for h in opener.handlers if hasattr(h, "cookiejar"))
            cookies = {c.name: c.value for c in jar}
            for name, path in page_paths(db):
                if args.page and name not in args.page:
                    continue
                if (answer := status(opener, base + path)) != "200":
                    rows.append((name, path, None))
                    problems[name] = [f"HTTP {answer}: not measured"]
                    continue
                report = OUT / f"{name.replace(' ', '-')}.json"
                try:
                    runs = [run_lighthouse(base + path, cookies, report) for _ in range(args.runs)]
                except RuntimeError as error:
                    rows.append((name, path, None))
                    problems[name] = [f"Lighthouse failed {ATTEMPTS} times: {error}"]
                    continue
                measured = [scores(r) for r in runs]
                median = {k: statistics.median(m[k] for m in measured) for k in measured[0]}
                rows.append((name, path, median))
                problems[name] = lost_points(runs[-1])
                benchmark_indexes += [r["environment"]["benchmarkIndex"] for r in runs]
                print(f"  {name}: done", file=sys.stderr)
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()
    print_table(rows, problems, args.runs, benchmark_indexes)
    missed = [
        name
        for name, _, s in rows
        if s is None
        or s["performance"] < MIN_PERFORMANCE
        or s["accessibility"] < MIN_OTHERS
        or s["best-practices"] < MIN_OTHERS
        or s["cls"] > MAX_CLS
    ]
    sys.exit(1 if missed else 0)


def print_table(rows, problems, runs: int, benchmark_indexes: list[float]) -> None:
    spread = (
        f"{min(benchmark_indexes):.0f}-{max(benchmark_indexes):.0f}" if benchmark_indexes else "-"
    )
    print(
        "Lighthouse 12, mobile emulation, production server (gunicorn, debug off), signed in; "
        f"median of {runs} run(s) per page; this machine's benchmark index {spread} (Lighthouse "
        "expects 1000 or more: below it, it finds the CPU slower than a phone's baseline)"
    )
    print(
        f"{'page':14} {'perf':>5} {'a11y':>5} {'best':>5} {'CLS':>6} {'LCP s':>6} {'TBT ms':>7}"
        "  path"
    )
    for name, path, s in rows:
        if s is None:
            print(f"{name:14} failed ({problems[name][0]})  {path}")
            continue
        print(
            f"{name:14} {s['performance']:>5.0f} {s['accessibility']:>5.0f} "
            f"{s['best-practices']:>5.0f} {s['cls']:>6.3f} {s['lcp']:>6.2f} {s['tbt']:>7.0f}"
            f"  {path}"
        )
    print(
        f"\nThe bar: performance >= {MIN_PERFORMANCE}, accessibility and best practices "
        f"{MIN_OTHERS}, CLS <= {MAX_CLS}. Audits that lost points (last run):"
    )
    for name, lines in problems.items():
        for line in lines:
            print(f"  {name}: {line}")


if __name__ == "__main__":
    main()
