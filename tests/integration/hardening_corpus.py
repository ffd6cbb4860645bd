"""Shared by tests/integration/test_hardening.py and benchmarks/bench_hardening.py (not a test module).

Loads the hostile-SQL corpus (``tests/data/hostile_sql.txt``), runs it through the real CLI
(``graphexp query`` via typer's CliRunner, in process), and takes the side-effect snapshots the
tests compare before and after: the catalogue fingerprint, new files, and on PostgreSQL roles,
replication slots, large objects, prepared transactions and a canary session.
"""

from __future__ import annotations

import glob
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "data" / "hostile_sql.txt"
EVIL_GLOBS = ("/tmp/graphexp-evil*", "/tmp/evil*")


def load_corpus(path: Path = CORPUS) -> list[tuple[str, str, str]]:
    """``(class, expect, sql)`` for every statement of the corpus file."""
    out, cls, expect = [], None, None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            _, cls, expect = line.split()
            continue
        if line.startswith("#") or not line.strip():
            continue
        out.append((cls, expect, line.replace("<NL>", "\n").replace("<NUL>", "\0")))
    return out


@dataclass
class CorpusStats:
    tried: int = 0
    refused: int = 0
    harmless: int = 0
    worst_s: float = 0.0
    worst_sql: str = ""
    tracebacks: int = 0
    failures: list = field(default_factory=list)

    def line(self, backend: str) -> str:
        return (f"{backend}: hostile statements tried {self.tried}, refused {self.refused}, ran harmlessly within the caps "
                f"{self.harmless}, worst time {self.worst_s:.2f} s, tracebacks {self.tracebacks}, failures {len(self.failures)}")


def run_corpus(url: str, corpus=None, *, timeout_s: float = 0.5, limit: int = 100, extra_args=()) -> CorpusStats:
    """Run every statement through ``graphexp query``; record what happened (nothing is asserted here)."""
    import typer.testing as tt
    from typer.testing import CliRunner

    from graphexp_db.cli import app

    runner = CliRunner()
    stats = CorpusStats()
    # typer rebuilds the click command on every invoke (~0.1 s); build it once for the whole corpus
    command, rebuild = tt._get_command(app), tt._get_command
    tt._get_command = lambda _app: command
    try:
        _run_all(runner, app, url, corpus, timeout_s, limit, extra_args, stats)
    finally:
        tt._get_command = rebuild
    return stats


def _run_all(runner, app, url, corpus, timeout_s, limit, extra_args, stats) -> None:
    for cls, expect, sql in corpus if corpus is not None else load_corpus():
        t0 = time.perf_counter()
        r = runner.invoke(app, ["query", "--db", url, "--limit", str(limit), "--timeout", str(timeout_s), *extra_args, "--", sql])
        dt = time.perf_counter() - t0
        stats.tried += 1
        if dt > stats.worst_s:
            stats.worst_s, stats.worst_sql = dt, sql[:80]
        err = r.stderr if r.stderr is not None else ""
        if "Traceback" in err or "Traceback" in (r.stdout or "") or r.exception not in (None,) and not isinstance(r.exception, SystemExit):
            stats.tracebacks += 1
            stats.failures.append((cls, sql[:80], f"exception {r.exception!r}"))
            continue
        if r.exit_code == 2:
            stats.refused += 1
            lines = err.strip().splitlines()
            if len(lines) != 1 or not lines[0].startswith("error: "):
                stats.failures.append((cls, sql[:80], f"not one line: {err[:200]!r}"))
        elif r.exit_code == 0:
            stats.harmless += 1
            if expect == "refuse":
                stats.failures.append((cls, sql[:80], "ran, but its class must be refused"))
        else:
            stats.failures.append((cls, sql[:80], f"exit code {r.exit_code}: {err[:200]!r}"))
        if dt > timeout_s + 5:
            stats.failures.append((cls, sql[:80], f"took {dt:.1f} s (time limit {timeout_s} s)"))


def evil_files() -> set[str]:
    return {p for g in EVIL_GLOBS for p in glob.glob(g)}


def dir_listing(path: Path) -> set[str]:
    return {str(p) for p in Path(path).rglob("*")}


def pg_snapshot(admin) -> dict:
    """Server-wide state a console query must not change (``admin``: a psycopg autocommit connection)."""
    cur = admin.cursor()
    cur.execute("SELECT array_agg(rolname ORDER BY rolname) FROM pg_roles")
    roles = cur.fetchone()[0]
    cur.execute("SELECT count(*) FROM pg_replication_slots")
    slots = cur.fetchone()[0]
    cur.execute("SELECT count(*) FROM pg_largeobject_metadata")
    los = cur.fetchone()[0]
    cur.execute("SELECT count(*) FROM pg_prepared_xacts")
    prepared = cur.fetchone()[0]
    cur.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
    advisory = cur.fetchone()[0]
    return {"roles": roles, "slots": slots, "large_objects": los, "prepared": prepared, "advisory_locks": advisory}


# The measured child is started by a small launcher process: ru_maxrss of a forked child counts
# the parent's pages it holds until exec, so a child forked by a large pytest process would report
# that process's RSS (the launcher is a fresh interpreter of about 10 MB).
_LAUNCHER = """
import os, subprocess, sys, time
proc = subprocess.Popen([sys.executable, "-c", sys.argv[1]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
deadline = time.perf_counter() + float(sys.argv[2])
while True:
    pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
    if pid:
        break
    if time.perf_counter() > deadline:
        proc.kill()
        pid, status, usage = os.wait4(proc.pid, 0)
        break
    time.sleep(0.02)
print(usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def child_peak_rss_mb(code: str, env=None, timeout: float = 120.0) -> tuple[float, float, int]:
    """Run ``python -c code`` and return (peak RSS in MB, seconds, exit code) of that child alone."""
    import subprocess

    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _LAUNCHER, code, str(timeout)], env=env or dict(os.environ),
                         capture_output=True, text=True, timeout=timeout + 60)
    rss_kb, rc = out.stdout.split()
    return int(rss_kb) / 1024.0, time.perf_counter() - t0, int(rc)
