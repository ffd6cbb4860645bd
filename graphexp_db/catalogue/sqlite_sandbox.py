"""Layers 2 and 3 of the read-only console on SQLite: a ``mode=ro`` connection with
``query_only``, an authorizer, SQLite limits, and time / instruction / memory budgets."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from ..errors import ReadOnlyError
from .sql_allowlist import _ALLOWED_TYPE_WORDS, _KEYWORDS_BEFORE_PAREN, ALLOWED_FUNCTIONS, _one_line, check_readonly
from .sql_caps import MAX_QUERY_CHARS, MAX_RESULT_BYTES, MAX_VALUE_BYTES, MEMORY_BUDGET_BYTES, SQLITE_MAX_STEPS, _collect


def _rss_bytes() -> int:
    """Resident memory of this process (Linux /proc; elsewhere the peak from getrusage)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


_SQLITE_ALLOWED_ACTIONS = frozenset(
    a
    for a in (
        getattr(sqlite3, "SQLITE_SELECT", None),
        getattr(sqlite3, "SQLITE_READ", None),
        getattr(sqlite3, "SQLITE_FUNCTION", None),
        getattr(sqlite3, "SQLITE_RECURSIVE", None),
    )
    if a is not None
)


def _sqlite_authorizer(action, arg1, arg2, dbname, source):
    # Second layer: even if something slipped past the parser, SQLite itself refuses to compile
    # anything but reads and allowlisted function calls.  Functions called inside the catalogue's
    # own views (``source`` is the view) were written by us, not by the visitor.
    if action not in _SQLITE_ALLOWED_ACTIONS:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION and source is None and str(arg2 or "").lower() not in ALLOWED_FUNCTIONS | _KEYWORDS_BEFORE_PAREN | _ALLOWED_TYPE_WORDS:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_READ and dbname not in (None, "main"):
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def _sqlite_path(url) -> Path:
    db = url.database
    if not db or db == ":memory:" or db.startswith("file::memory:"):
        raise ReadOnlyError("refused: the read-only console needs an SQLite file, not an in-memory database")
    if db.startswith("file:"):  # a URI-style SQLite URL (sqlite:///file:/path?mode=ro&uri=true)
        db = db[len("file:"):].split("?", 1)[0]
    path = Path(db).expanduser().resolve()
    if not path.exists():
        raise ReadOnlyError(f"no catalogue at {path} (run `graphexp build --preset core` or `graphexp db upgrade`)")
    if not path.is_file():
        raise ReadOnlyError(f"the catalogue {path} is not a file")
    return path


def sqlite_tables(path: Path) -> frozenset[str]:
    """Tables and views of an SQLite catalogue file (opened read-only)."""
    from urllib.parse import quote

    try:
        conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=2.0)
        try:
            names = conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as err:
        raise ReadOnlyError(f"cannot read {path} as an SQLite catalogue: {_one_line(str(err))}") from None
    return frozenset(str(n[0]).lower() for n in names)


_SQLITE_LIMITS = (
    ("SQLITE_LIMIT_ATTACHED", 0), ("SQLITE_LIMIT_LENGTH", MAX_VALUE_BYTES), ("SQLITE_LIMIT_SQL_LENGTH", 4 * MAX_QUERY_CHARS),
    ("SQLITE_LIMIT_COLUMN", 256), ("SQLITE_LIMIT_EXPR_DEPTH", 200), ("SQLITE_LIMIT_COMPOUND_SELECT", 64),
    ("SQLITE_LIMIT_FUNCTION_ARG", 32), ("SQLITE_LIMIT_LIKE_PATTERN_LENGTH", 1000), ("SQLITE_LIMIT_VARIABLE_NUMBER", 0),
    ("SQLITE_LIMIT_TRIGGER_DEPTH", 1), ("SQLITE_LIMIT_WORKER_THREADS", 0),
)


def _open_readonly(path: Path, timeout_s: float) -> sqlite3.Connection:
    """``path`` opened ``mode=ro`` with ``query_only``, in-memory temporary storage and tight limits."""
    from urllib.parse import quote

    uri = f"file:{quote(str(path))}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=min(timeout_s, 5.0), check_same_thread=False)
    except sqlite3.Error as err:
        raise ReadOnlyError(f"cannot open {path} read-only: {_one_line(str(err))}") from None
    try:
        conn.execute("PRAGMA query_only=ON")
        conn.execute("PRAGMA temp_store=MEMORY")  # sorts and temp b-trees count against the memory budget, no temp files
        conn.execute("PRAGMA trusted_schema=OFF")
    except sqlite3.Error as err:
        conn.close()
        raise ReadOnlyError(f"cannot read {path} as an SQLite catalogue: {_one_line(str(err))}") from None
    if hasattr(conn, "setlimit"):
        for name, value in _SQLITE_LIMITS:
            if hasattr(sqlite3, name):
                conn.setlimit(getattr(sqlite3, name), value)
    return conn


class _Budget:
    """Progress handler of one query: cuts it at the time limit, the instruction budget or the memory budget."""

    period = 1000

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.deadline = time.monotonic() + timeout_s
        self.rss0 = _rss_bytes()
        self.steps = 0
        self.cut: str | None = None

    def __call__(self) -> int:
        self.steps += self.period
        if time.monotonic() > self.deadline:
            self.cut = f"query cut at the time limit of {self.timeout_s:g} s"
        elif self.steps > SQLITE_MAX_STEPS:
            self.cut = f"query cut at the budget of {SQLITE_MAX_STEPS:,} SQLite instructions"
        elif self.steps % (self.period * 16) == 0 and _rss_bytes() - self.rss0 > MEMORY_BUDGET_BYTES:
            self.cut = f"query cut at the memory budget of {MEMORY_BUDGET_BYTES // 2**20} MB"
        return 1 if self.cut else 0


def _sqlite_error(err: sqlite3.Error, budget: _Budget, heap: _HeapBudget) -> ReadOnlyError:
    """The one-line console error for an SQLite error raised while a query ran."""
    if budget.cut:
        return ReadOnlyError(budget.cut)
    msg = str(err)
    if heap.active and ("out of memory" in msg.lower() or "nomem" in msg.lower()):
        return ReadOnlyError(f"query cut at the memory budget of {MEMORY_BUDGET_BYTES // 2**20} MB")
    if "not authorized" in msg:
        return ReadOnlyError("refused: the statement needs a permission the read-only console does not grant")
    if "too big" in msg:
        return ReadOnlyError(f"query cut: a value is over the cap of {MAX_VALUE_BYTES // 2**20} MB")
    return ReadOnlyError(f"query failed: {_one_line(msg)}")


def _run_sqlite(url, text: str, row_cap: int, timeout_s: float, *, max_bytes: int = MAX_RESULT_BYTES, meta: dict | None = None,
                _check: bool = True) -> tuple[list[str], list[tuple], bool]:
    meta = {} if meta is None else meta
    path = _sqlite_path(url)
    if _check:  # (tests switch the parser off to prove the connection layer alone)
        check_readonly(text, "sqlite", sqlite_tables(path))
    conn = _open_readonly(path, timeout_s)
    try:
        budget = _Budget(timeout_s)
        conn.set_progress_handler(budget, budget.period)
        conn.set_authorizer(_sqlite_authorizer)
        heap = _HeapBudget()
        try:
            with heap:
                cur = conn.execute(text)
                columns = [d[0] for d in (cur.description or [])]
                rows, truncated = _collect(cur.fetchmany, row_cap, max_bytes, meta) if cur.description else ([], False)
        except sqlite3.Error as err:
            raise _sqlite_error(err, budget, heap) from None
        except MemoryError:
            raise ReadOnlyError(f"query cut at the memory budget of {MEMORY_BUDGET_BYTES // 2**20} MB") from None
        except (OverflowError, ValueError, RecursionError) as err:
            raise ReadOnlyError(f"query failed: {_one_line(str(err) or type(err).__name__)}") from None
    finally:
        conn.close()
        _release_memory()
    return columns, rows, truncated


class _HeapBudget:
    """SQLite's own hard heap limit (``sqlite3_hard_heap_limit64``) set to the memory SQLite uses
    now plus :data:`MEMORY_BUDGET_BYTES` while console queries run, then restored.

    The limit is process-wide, so concurrent console queries share one budget (a counter keeps it
    set until the last one ends).  Reached through ctypes on the SQLite library this process has
    loaded; where that is not possible the RSS check of the progress handler remains.
    """

    _lock = __import__("threading").Lock()
    _active = 0
    _previous = 0
    _lib: Any = False

    def __init__(self) -> None:
        self.active = False

    @classmethod
    def _library(cls):
        if cls._lib is False:
            cls._lib = None
            try:
                import ctypes

                with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
                    paths = [line.split()[-1] for line in fh if "libsqlite3" in line and "/" in line]
                if paths:
                    lib = ctypes.CDLL(paths[0])
                    lib.sqlite3_memory_used.restype = ctypes.c_int64
                    lib.sqlite3_hard_heap_limit64.restype = ctypes.c_int64
                    lib.sqlite3_hard_heap_limit64.argtypes = [ctypes.c_int64]
                    cls._lib = lib
            except (OSError, AttributeError, IndexError):
                cls._lib = None
        return cls._lib

    def __enter__(self):
        lib = self._library()
        if lib is None:
            return self
        with self._lock:
            if _HeapBudget._active == 0:
                _HeapBudget._previous = int(lib.sqlite3_hard_heap_limit64(-1))
                limit = int(lib.sqlite3_memory_used()) + MEMORY_BUDGET_BYTES
                if _HeapBudget._previous <= 0 or limit < _HeapBudget._previous:
                    lib.sqlite3_hard_heap_limit64(limit)
            _HeapBudget._active += 1
            self.active = True
        return self

    def __exit__(self, *exc) -> None:
        if not self.active:
            return
        with self._lock:
            _HeapBudget._active -= 1
            if _HeapBudget._active == 0:
                self._library().sqlite3_hard_heap_limit64(_HeapBudget._previous)


def _release_memory() -> None:
    """Give freed heap back to the system (glibc), so the next query's memory budget starts from
    the process's real size instead of a high-water mark left by this one."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        trim = getattr(libc, "malloc_trim", None)
        if trim is not None:
            trim(0)
    except (OSError, AttributeError, TypeError):  # not glibc: nothing to do
        pass

