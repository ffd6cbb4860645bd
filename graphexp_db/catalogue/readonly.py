"""Read-only SQL over the catalogue: the console of the CLI (``graphexp query``) and the web UI.

Nothing a visitor types may change the catalogue, read the server's files, signal other sessions
or exhaust the machine.  :func:`run_readonly` has independent layers, each enough on its own for
most attacks:

1. **Allowlist before running** (:func:`check_readonly`).  The text is tokenised and parsed with
   sqlglot in the engine's dialect.  It must be exactly one ``SELECT`` / ``WITH ... SELECT`` / set
   operation / ``VALUES`` statement, optionally behind a plain ``EXPLAIN`` (``EXPLAIN QUERY PLAN``
   on SQLite).  Every call, whatever its spelling (quoted, ``[bracketed]``, schema-qualified),
   must name a function of :data:`ALLOWED_FUNCTIONS`, a short list of harmless aggregate, scalar,
   string, math, JSON and window functions: nothing that reads files, executes or parses SQL or
   XML text (``query_to_xml``, ``ts_stat``, ``xpath`` ...), signals, sleeps or changes settings.
   Casts go to plain value types only (no ``regproc``, ``xml`` ...).  Unicode-escape strings and
   identifiers (``U&"..."``), PostgreSQL escape and dollar-quoted strings, non-ASCII outside string
   literals and schema-qualified calls are refused outright, so what is checked is what the server
   reads.  Tables must be the catalogue's own (or CTEs).
2. **Least privilege.**  SQLite is opened as ``file:...?mode=ro`` with ``PRAGMA query_only=ON`` and
   an authorizer that allows only reads and allowlisted functions.  PostgreSQL runs inside a
   ``READ ONLY`` transaction as the read-only role :data:`READ_ROLE` (``SET LOCAL ROLE`` from the
   given connection, or a separate URL: ``read_url`` / ``GRAPHEXP_READ_DB``); :func:`ensure_reader_role`
   (``graphexp db reader``) creates it with ``SELECT`` on the catalogue only.  A connection that
   would run as a superuser (or with server-file, signal, replication or role-creation rights) is
   refused unless ``allow_superuser=True``.
3. **Budgets** (:func:`query_caps`).  A time limit (SQLite: progress handler with a time and a
   VM-instruction budget; PostgreSQL: ``statement_timeout``), a memory budget (SQLite: growth of the
   process RSS checked from the progress handler, one value at most :data:`MAX_VALUE_BYTES`,
   temporary storage in memory; PostgreSQL: ``work_mem``, ``temp_file_limit`` and a per-row size
   guard evaluated by the server), a row cap and a result-size cap.  Rows are fetched in small
   batches (a server-side cursor on PostgreSQL) and fetching stops at the first cap reached.

The code is split by layer: :mod:`.sql_allowlist` (1), :mod:`.sqlite_sandbox` and
:mod:`.postgres_sandbox` (2 and 3), :mod:`.sql_caps` (the caps and :class:`QueryResult`); this module
runs a query through them and re-exports their public names.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

from ..errors import ReadOnlyError
from .postgres_sandbox import _ConnectError, _run_postgres, ensure_reader_role
from .sql_allowlist import ALLOWED_FUNCTIONS, _dialect_of, _one_line, check_readonly
from .sql_caps import (
    DEFAULT_ROW_CAP,
    DEFAULT_TIMEOUT_S,
    MAX_RESULT_BYTES,
    MAX_ROW_CAP,
    MAX_TIMEOUT_S,
    MAX_VALUE_BYTES,
    MEMORY_BUDGET_BYTES,
    READ_ROLE,
    QueryResult,
    query_caps,
)
from .sqlite_sandbox import _run_sqlite

__all__ = [
    "DEFAULT_ROW_CAP",
    "DEFAULT_TIMEOUT_S",
    "MAX_ROW_CAP",
    "MAX_TIMEOUT_S",
    "MAX_RESULT_BYTES",
    "MAX_VALUE_BYTES",
    "MEMORY_BUDGET_BYTES",
    "READ_ROLE",
    "ALLOWED_FUNCTIONS",
    "QueryResult",
    "ReadOnlyError",
    "check_readonly",
    "run_readonly",
    "query_caps",
    "ensure_reader_role",
    "example_queries",
    "resolve_url",
    "resolve_read_url",
]


# --------------------------------------------------------------------------- layers 2 and 3: run
def run_readonly(
    url_or_engine: Any,
    sql: str,
    *,
    row_cap: int = DEFAULT_ROW_CAP,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    allow_superuser: bool = False,
    read_url: str | None = None,
    max_bytes: int = MAX_RESULT_BYTES,
) -> QueryResult:
    """Run one read-only query under the console's caps (:func:`query_caps`).

    Parameters
    ----------
    url_or_engine : str, sqlalchemy.engine.URL or sqlalchemy.engine.Engine
        The catalogue (SQLite file or PostgreSQL).
    sql : str
        The query (see :func:`check_readonly` for what is accepted).
    row_cap : int
        At most this many rows come back (1 .. :data:`MAX_ROW_CAP`); ``truncated`` says whether
        more existed.
    timeout_s : float
        Wall-clock limit in seconds (at most :data:`MAX_TIMEOUT_S`); the query is aborted past it.
    allow_superuser : bool
        PostgreSQL: run even when the connection would run as a superuser (or a role with
        server-file, signal, replication or role-creation rights).  Refused otherwise.
    read_url : str, optional
        PostgreSQL: connect with this URL (the read-only role's login) instead of
        ``url_or_engine``; default ``$GRAPHEXP_READ_DB`` when set.
    max_bytes : int
        Fetching stops once the kept rows reach this size (``meta["cut_by"] == "bytes"``).

    Returns
    -------
    QueryResult

    Raises
    ------
    ReadOnlyError
        One-line message: refused, cut by a budget, or the database's own error.

    Examples
    --------
    >>> import tempfile, os, sqlite3
    >>> path = os.path.join(tempfile.mkdtemp(), "c.sqlite")
    >>> with sqlite3.connect(path) as c:
    ...     _ = c.execute("CREATE TABLE t (x INTEGER)")
    ...     _ = c.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(5)])
    >>> r = run_readonly(f"sqlite:///{path}", "SELECT x FROM t ORDER BY x", row_cap=3)
    >>> r.columns, r.rows, r.truncated
    (['x'], [(0,), (1,), (2,)], True)
    """
    from sqlalchemy import create_engine
    from sqlalchemy.engine import Engine, make_url

    if isinstance(row_cap, bool) or not isinstance(row_cap, int) or not 1 <= row_cap <= MAX_ROW_CAP:
        raise ReadOnlyError(f"row cap must be an integer from 1 to {MAX_ROW_CAP:,} (got {row_cap!r})")
    if isinstance(timeout_s, bool) or not (isinstance(timeout_s, (int, float)) and math.isfinite(timeout_s) and 0 < timeout_s <= MAX_TIMEOUT_S):
        raise ReadOnlyError(f"time limit must be a number of seconds in (0, {MAX_TIMEOUT_S:g}] (got {timeout_s!r})")
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or not 1 <= max_bytes <= MAX_RESULT_BYTES:
        raise ReadOnlyError(f"result size cap must be an integer from 1 to {MAX_RESULT_BYTES} bytes (got {max_bytes!r})")
    engine = url_or_engine if isinstance(url_or_engine, Engine) else None
    try:
        url = engine.url if engine is not None else make_url(str(url_or_engine) if not hasattr(url_or_engine, "drivername") else url_or_engine)
    except Exception as err:  # noqa: BLE001 - sqlalchemy.exc.ArgumentError and friends
        raise ReadOnlyError(f"malformed database URL: {_one_line(str(err), 160)}") from None
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ReadOnlyError(f"refused: read-only console supports SQLite and PostgreSQL, not {backend}")
    text = check_readonly(sql, _dialect_of(backend))
    t0 = time.perf_counter()
    meta: dict = {"caps": query_caps()["summary"]}
    if backend == "sqlite":
        columns, rows, truncated = _run_sqlite(url, text, row_cap, timeout_s, max_bytes=max_bytes, meta=meta)
    else:
        read_url = read_url if read_url is not None else (os.environ.get("GRAPHEXP_READ_DB") or None)
        from sqlalchemy.pool import NullPool

        # Always a private, unpooled connection: whatever a query leaves in its session (an
        # advisory lock, a setting) dies with it instead of returning to a shared pool.
        target = read_url if read_url is not None else url
        try:
            target = make_url(str(target) if not hasattr(target, "drivername") else target)
        except Exception as err:  # noqa: BLE001
            raise ReadOnlyError(f"malformed read-only database URL: {_one_line(str(err), 160)}") from None
        if target.drivername in ("postgresql", "postgres"):
            target = target.set(drivername="postgresql+psycopg")
        if target.get_backend_name() != "postgresql":
            raise ReadOnlyError("the read-only URL (--read-db / GRAPHEXP_READ_DB) must be a PostgreSQL URL")
        candidates = [target]
        if read_url is None and target.username != READ_ROLE:
            # Prefer logging in as the read-only role itself (a real privilege boundary: a session
            # that *starts* as a superuser could leave a SET ROLE); fall back to SET ROLE when the
            # server does not let it log in without a password.
            candidates.insert(0, target.set(username=READ_ROLE, password=None))
        last_err = None
        for i, candidate in enumerate(candidates):
            eng = create_engine(candidate, poolclass=NullPool, connect_args={"connect_timeout": 5})
            try:
                columns, rows, truncated = _run_postgres(eng, text, row_cap, timeout_s, allow_superuser=allow_superuser, max_bytes=max_bytes, meta=meta)
                break
            except _ConnectError as err:
                last_err = err
                if i + 1 == len(candidates):
                    raise ReadOnlyError(str(err)) from None
            finally:
                eng.dispose()
        else:  # pragma: no cover - the loop either breaks or raises
            raise ReadOnlyError(str(last_err))
    return QueryResult(columns, rows, truncated, time.perf_counter() - t0, row_cap, meta)

def resolve_read_url(read_db: str | None = None) -> str | None:
    """``read_db``, else ``$GRAPHEXP_READ_DB``, else ``None`` (use the catalogue URL with SET ROLE)."""
    return read_db or os.environ.get("GRAPHEXP_READ_DB") or None

# --------------------------------------------------------------------------- schema-doc examples
def example_queries(path: str | Path | None = None) -> list[tuple[str, str]]:
    """The ```` ```sql ```` blocks of ``docs/schema.md`` as ``(title, sql)`` pairs.

    The title is the nearest preceding heading or non-empty text line; a missing file gives ``[]``.

    >>> example_queries("/nonexistent/schema.md")
    []
    """
    if path is None:
        path = Path(__file__).resolve().parents[2] / "docs" / "schema.md"
    path = Path(path)
    if not path.exists():
        return []
    out: list[tuple[str, str]] = []
    title = ""
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip().lower().startswith("```sql"):
            block = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                block.append(lines[i])
                i += 1
            sql = "\n".join(block).strip()
            if sql:
                out.append((title or f"example {len(out) + 1}", sql))
        elif line.strip() and not line.strip().startswith("```"):
            title = line.strip().lstrip("#").strip().rstrip(":")[:100]
        i += 1
    return out


def resolve_url(db: str | None = None) -> str:
    """``db``, else ``$GRAPHEXP_DB``, else the catalogue layer's default (embedded SQLite file)."""
    import os

    if db:
        return str(db)
    env = os.environ.get("GRAPHEXP_DB")
    if env:
        return env
    try:
        from .engine import default_url

        return str(default_url())
    except ImportError:
        return f"sqlite:///{Path(__file__).resolve().parents[2] / 'data' / 'catalogue.sqlite'}"
