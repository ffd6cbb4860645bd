"""Hardening figures (issue 9): hostile SQL tried / refused / harmless, worst RSS and time, fuzz cases.

    PYTHONPATH=. python benchmarks/bench_hardening.py [--no-postgres] [--timeout 0.5]

1. The hostile-SQL corpus (tests/data/hostile_sql.txt) through ``graphexp query`` on a scratch
   SQLite catalogue and, when the local server answers, on PostgreSQL (as the read-only role):
   statements tried, refused (exit 2, one line), ran harmlessly within the caps (exit 0), worst
   time, tracebacks, and whether the catalogue fingerprint and the server state stayed the same.
2. Every resource-attack statement of the corpus in its own child process on SQLite (and on
   PostgreSQL): the child's peak RSS (``wait4``) and wall time; the worst must stay under 512 MB.
   The baseline is a child that only imports the console (same run).
3. The Hypothesis fuzz (tests/property/test_fuzz_inputs.py) in a child pytest: cases run,
   failures (tracebacks or non-one-line errors) and hangs (deadline exceeded).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from hardening_corpus import child_peak_rss_mb, evil_files, load_corpus, pg_snapshot, run_corpus  # noqa: E402
from test_app_catalogue import build_scratch_catalogue, catalogue_checksum, pg_reason, pg_scratch_schema  # noqa: E402


def _rss_rows(url: str, timeout_s: float) -> list[tuple[float, float, str]]:
    rows = []
    for cls, _, sql in load_corpus():
        if cls != "resource":
            continue
        code = ("from graphexp_db.catalogue.readonly import run_readonly, ReadOnlyError\n"
                f"try:\n    run_readonly({url!r}, {sql!r}, row_cap=1000000, timeout_s={timeout_s})\nexcept ReadOnlyError:\n    pass\n")
        rss, seconds, rc = child_peak_rss_mb(code, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=60 + 4 * timeout_s)
        rows.append((rss, seconds, sql[:70] + ("" if rc == 0 else f" [exit {rc}]")))
    return rows


def _fuzz() -> str:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", str(ROOT / "tests" / "property" / "test_fuzz_inputs.py")],
                          cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True, timeout=900)
    out = proc.stdout + proc.stderr
    m = re.search(r"fuzz cases run: (\d+)", out)
    failed = re.search(r"(\d+) failed", out)
    hangs = out.count("DeadlineExceeded")
    return (f"fuzz: cases run {m.group(1) if m else '?'}, failing tests {failed.group(1) if failed else 0}, "
            f"tracebacks {out.count('Traceback (most recent call last)')}, hangs (deadline exceeded) {hangs}, "
            f"{time.perf_counter() - t0:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeout", type=float, default=0.5, help="per-query time limit of the corpus runs (s)")
    ap.add_argument("--rss-timeout", type=float, default=3.0, help="per-query time limit of the RSS children (s)")
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--no-fuzz", action="store_true")
    args = ap.parse_args()

    d = Path(tempfile.mkdtemp(prefix="gx-bench-hardening-"))
    url = f"sqlite:///{d / 'catalogue.sqlite'}"
    build_scratch_catalogue(url)
    base_rss, base_s, _ = child_peak_rss_mb("import graphexp_db.catalogue.readonly as r; r.check_readonly('SELECT 1')",
                                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    print(f"baseline child (imports the console): {base_rss:.0f} MB, {base_s:.2f} s")

    before, evil = catalogue_checksum(url), evil_files()
    stats = run_corpus(url, timeout_s=args.timeout)
    print(stats.line("sqlite"))
    print(f"  fingerprint unchanged: {catalogue_checksum(url) == before}; new files: {sorted(evil_files() - evil) or 'none'}; "
          f"worst statement: {stats.worst_sql!r}")
    for f in stats.failures:
        print("  FAILURE", f)
    rows = _rss_rows(url, args.rss_timeout)
    worst = max(rows)
    print(f"sqlite resource attacks in children: {len(rows)}; worst RSS {worst[0]:.0f} MB ({worst[0] - base_rss:+.0f} MB over the baseline) "
          f"for {worst[2]!r}; worst time {max(r[1] for r in rows):.1f} s (limit {args.rss_timeout} s + start-up); under 512 MB: {worst[0] < 512}")

    if not args.no_postgres and not pg_reason():
        import psycopg

        from graphexp_db.catalogue.readonly import ensure_reader_role

        with pg_scratch_schema() as (pg_url, _):
            ensure_reader_role(pg_url)
            admin = psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True)
            before, server = catalogue_checksum(pg_url), pg_snapshot(admin)
            stats = run_corpus(pg_url, timeout_s=args.timeout)
            print(stats.line("postgresql"))
            print(f"  fingerprint unchanged: {catalogue_checksum(pg_url) == before}; server state (roles, slots, large objects, "
                  f"prepared, advisory locks) unchanged: {pg_snapshot(admin) == server}")
            for f in stats.failures:
                print("  FAILURE", f)
            rows = _rss_rows(pg_url, args.rss_timeout)
            worst = max(rows)
            print(f"postgresql resource attacks in children: {len(rows)}; worst client RSS {worst[0]:.0f} MB for {worst[2]!r}; "
                  f"worst time {max(r[1] for r in rows):.1f} s")
            admin.close()
    else:
        print("postgresql: skipped (" + (pg_reason() or "--no-postgres") + ")")

    if not args.no_fuzz:
        print(_fuzz())


if __name__ == "__main__":
    main()
