"""Read-only SQL over the catalogue: the console of the CLI (``graphexp query``) and the web UI.

Nothing a visitor types may change the catalogue, so :func:`run_readonly` has two independent layers:

1. **Refuse before running.**  The text is parsed with sqlglot in the engine's dialect; it must be
   exactly one ``SELECT`` / ``WITH ... SELECT`` / set operation / ``VALUES`` statement (optionally
   behind ``EXPLAIN`` or ``EXPLAIN QUERY PLAN``), with no write anywhere in its tree (CTE writes,
   ``SELECT ... INTO``, ``FOR UPDATE``) and no dangerous function (``load_extension``, file and
   large-object access, ``set_config``, sequences, ...).
2. **Run on a read-only connection.**  SQLite is opened as ``file:...?mode=ro`` with
   ``PRAGMA query_only=ON``, an authorizer that allows only reads and a progress handler that aborts
   past ``timeout_s``; PostgreSQL runs inside a ``READ ONLY`` transaction with
   ``SET LOCAL statement_timeout`` and is always rolled back.

Results are capped at ``row_cap`` rows (``fetchmany(row_cap + 1)`` tells whether more existed).
"""

from __future__ import annotations

import logging
import math
import re
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ReadOnlyError

__all__ = [
    "DEFAULT_ROW_CAP",
    "DEFAULT_TIMEOUT_S",
    "QueryResult",
    "ReadOnlyError",
    "check_readonly",
    "run_readonly",
    "example_queries",
    "resolve_url",
]

DEFAULT_ROW_CAP = 10_000
DEFAULT_TIMEOUT_S = 10.0




@dataclass(frozen=True)
class QueryResult:
    """Columns and rows of a read-only query; ``truncated`` when the row cap cut the result."""

    columns: list[str]
    rows: list[tuple]
    truncated: bool = False
    elapsed_s: float = 0.0
    row_cap: int = DEFAULT_ROW_CAP
    meta: dict = field(default_factory=dict)

    def to_frame(self):
        """The result as a pandas DataFrame (duplicate column names are made unique)."""
        import pandas as pd

        cols, seen = [], {}
        for c in self.columns:
            n = seen.get(c, 0)
            seen[c] = n + 1
            cols.append(c if n == 0 else f"{c}_{n}")
        return pd.DataFrame([list(r) for r in self.rows], columns=cols)

    def to_json(self) -> dict:
        """``{"columns": [...], "rows": [[...]], "truncated": bool}`` with JSON-safe cells."""
        return {"columns": list(self.columns), "rows": [[_json_cell(v) for v in r] for r in self.rows], "truncated": self.truncated}


# --------------------------------------------------------------------------- layer (a): refuse
# Functions that read or write outside the catalogue, change settings or state, or load code.
# Matched on the bare (unqualified, lower-case) name; a ``lo_`` / ``dblink`` / ``pg_`` prefix rule
# below catches the families.
_DENY_FUNCTIONS = frozenset(
    {
        # SQLite
        "load_extension", "readfile", "writefile", "edit", "fts3_tokenizer", "zipfile", "sqlar_compress",
        "sqlar_uncompress", "sqlite_dbpage", "fsdir", "sqlite_drop_column", "sqlite_rename_table",
        "sqlite_rename_column", "sqlite_rename_test", "sqlite_rename_quotefix", "shell_add_schema",
        "unhex_to_file", "sqlite_offset",
        # PostgreSQL
        "set_config", "nextval", "setval", "currval", "lastval", "txid_current", "pg_current_xact_id",
        "query_to_xml", "query_to_xml_and_xmlschema", "query_to_xmlschema", "table_to_xml",
        "table_to_xml_and_xmlschema", "cursor_to_xml", "database_to_xml", "schema_to_xml",
        "database_to_xml_and_xmlschema", "schema_to_xml_and_xmlschema", "copy", "dblink",
        "current_setting_set", "make_ext", "binary_upgrade_set_next_pg_type_oid",
    }
)
_DENY_PREFIXES = ("pg_", "lo_", "dblink", "pragma_", "sqlite_", "binary_upgrade", "xpath")
# ``pg_`` functions that only read harmless metadata are fine.
_ALLOW_PG = frozenset(
    {
        "pg_typeof", "pg_column_size", "pg_size_pretty", "pg_table_size", "pg_total_relation_size",
        "pg_relation_size", "pg_indexes_size", "pg_database_size", "pg_get_viewdef", "pg_get_indexdef",
        "pg_get_constraintdef", "pg_get_expr", "pg_backend_pid", "pg_postmaster_start_time",
        "sqlite_version", "sqlite_source_id",
    }
)
_NAME_CALL = re.compile(r"""["`\[]?\b([A-Za-z_][A-Za-z0-9_$]*)\b["`\]]?\s*\(""")
_EXPLAIN = re.compile(r"^\s*explain\b(\s+query\s+plan\b)?", re.IGNORECASE)
_SQL_KEYWORDS_THAT_CALL = frozenset({"in", "values", "as", "exists", "over", "filter", "using", "on", "and", "or", "not", "from", "select", "where", "join", "cast", "any", "all", "some", "lateral", "within", "recursive", "returning", "into", "table", "cube", "rollup", "grouping", "sets", "case", "when", "then", "else", "is", "like", "glob", "between", "union", "except", "intersect", "by", "having", "limit", "offset", "window", "partition", "rows", "range", "groups", "materialized", "with", "distinct", "array", "row", "interval", "ordinality"})


def _dialect_of(name: str) -> str:
    return {"postgresql": "postgres", "sqlite": "sqlite"}.get(name, name)


def _one_line(msg: str, limit: int = 240) -> str:
    line = " ".join(str(msg).replace("\x1b", "").split())
    line = re.sub(r"\[[0-9;]*m", "", line)
    return line if len(line) <= limit else line[: limit - 1] + "…"


def check_readonly(sql: str, dialect: str = "sqlite") -> str:
    """Refuse anything that is not exactly one read-only query; return the SQL to run.

    Parameters
    ----------
    sql : str
        What the visitor typed.
    dialect : str
        ``"sqlite"`` or ``"postgres"`` (sqlglot dialect names; ``"postgresql"`` is accepted).

    Returns
    -------
    str
        The statement, stripped of surrounding whitespace and trailing semicolons.

    Raises
    ------
    ReadOnlyError
        With a one-line reason.

    Examples
    --------
    >>> check_readonly("SELECT 1;")
    'SELECT 1'
    >>> try:
    ...     check_readonly("DROP TABLE operator_graph")
    ... except ReadOnlyError as err:
    ...     print(err)
    refused: only SELECT / WITH ... SELECT / VALUES / EXPLAIN queries are allowed (got DROP)
    """
    import sqlglot
    from sqlglot import exp

    dialect = _dialect_of(dialect)
    if not isinstance(sql, str) or not sql.strip():
        raise ReadOnlyError("refused: empty query")
    if "\x00" in sql:
        raise ReadOnlyError("refused: NUL byte in query")
    if len(sql) > 100_000:
        raise ReadOnlyError("refused: query longer than 100000 characters")
    text = sql.strip()
    while text.endswith(";"):
        text = text[:-1].rstrip()
    body = text
    m = _EXPLAIN.match(text)
    if m:
        body = text[m.end():].strip()
        if re.match(r"^\s*(\(|analy[sz]e\b|verbose\b)", body, re.IGNORECASE):
            raise ReadOnlyError("refused: only plain EXPLAIN / EXPLAIN QUERY PLAN of a SELECT is allowed")
        if dialect == "postgres" and m.group(1):
            raise ReadOnlyError("refused: EXPLAIN QUERY PLAN is SQLite syntax; use EXPLAIN on PostgreSQL")
    if not body:
        raise ReadOnlyError("refused: empty query")

    logger = logging.getLogger("sqlglot")
    old = logger.level
    logger.setLevel(logging.ERROR)
    try:
        statements = [s for s in sqlglot.parse(body, read=dialect) if s is not None and not isinstance(s, exp.Semicolon)]
    except Exception as err:  # sqlglot.errors.ParseError, TokenError, ...
        raise ReadOnlyError(f"refused: could not parse the query ({_one_line(str(err), 120)})") from None
    finally:
        logger.setLevel(old)
    if len(statements) != 1:
        raise ReadOnlyError(f"refused: exactly one statement is allowed (got {len(statements)})")
    tree = statements[0]

    if not isinstance(tree, (exp.Select, exp.SetOperation, exp.Values, exp.Subquery)):
        kind = tree.key.upper() if not isinstance(tree, exp.Command) else str(tree.this).upper()
        raise ReadOnlyError(f"refused: only SELECT / WITH ... SELECT / VALUES / EXPLAIN queries are allowed (got {kind})")

    forbidden = tuple(
        getattr(exp, n)
        for n in (
            "Insert", "Update", "Delete", "Create", "Drop", "Alter", "Command", "Merge", "Into", "Pragma",
            "Attach", "Detach", "TruncateTable", "Transaction", "Commit", "Rollback", "Set", "Use", "Copy",
            "LoadData", "Lock", "Analyze", "Grant", "Revoke", "Comment", "Cache", "Uncache", "Refresh",
            "Describe", "Kill", "Install", "Summarize", "Export",
        )
        if hasattr(exp, n)
    )
    for node in tree.walk():
        node = node[0] if isinstance(node, tuple) else node
        if isinstance(node, forbidden):
            what = {"Into": "SELECT ... INTO", "Lock": "FOR UPDATE/SHARE"}.get(type(node).__name__, type(node).__name__.upper())
            raise ReadOnlyError(f"refused: {what} is not allowed in a read-only query")
        if isinstance(node, exp.Func):
            name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
            _check_function(name)
    # Belt and braces: any ``name(`` in the raw text (quoted or schema-qualified names included).
    for m in _NAME_CALL.finditer(_strip_literals(body)):
        name = m.group(1).lower()
        if name not in _SQL_KEYWORDS_THAT_CALL:
            _check_function(name)
    return text


def _check_function(name: str) -> None:
    name = name.lower().rsplit(".", 1)[-1]
    if name in _ALLOW_PG:
        return
    if name in _DENY_FUNCTIONS or name.startswith(_DENY_PREFIXES):
        raise ReadOnlyError(f"refused: function {name}() is not allowed in the console")


def _strip_literals(sql: str) -> str:
    """Blank out string literals and comments (so a name inside a string is not a call)."""
    out = re.sub(r"'(?:[^']|'')*'", "''", sql)
    out = re.sub(r"--[^\n]*", " ", out)
    out = re.sub(r"/\*.*?\*/", " ", out, flags=re.DOTALL)
    return out


# --------------------------------------------------------------------------- layer (b): run
def run_readonly(url_or_engine: Any, sql: str, *, row_cap: int = DEFAULT_ROW_CAP, timeout_s: float = DEFAULT_TIMEOUT_S) -> QueryResult:
    """Run one read-only query with a row cap and a time limit.

    Parameters
    ----------
    url_or_engine : str, sqlalchemy.engine.URL or sqlalchemy.engine.Engine
        The catalogue (SQLite file or PostgreSQL).
    sql : str
        The query (see :func:`check_readonly` for what is accepted).
    row_cap : int
        At most this many rows come back; ``truncated`` says whether more existed.
    timeout_s : float
        Wall-clock limit; the query is aborted past it.

    Returns
    -------
    QueryResult

    Raises
    ------
    ReadOnlyError
        One-line message: refused, timed out, or the database's own error.

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

    if isinstance(row_cap, bool) or not isinstance(row_cap, int) or row_cap < 1:
        raise ReadOnlyError(f"row cap must be a positive integer (got {row_cap!r})")
    if not (isinstance(timeout_s, (int, float)) and math.isfinite(timeout_s) and timeout_s > 0):
        raise ReadOnlyError(f"time limit must be a positive number of seconds (got {timeout_s!r})")
    engine = url_or_engine if isinstance(url_or_engine, Engine) else None
    url = engine.url if engine is not None else make_url(str(url_or_engine) if not hasattr(url_or_engine, "drivername") else url_or_engine)
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ReadOnlyError(f"refused: read-only console supports SQLite and PostgreSQL, not {backend}")
    text = check_readonly(sql, _dialect_of(backend))
    t0 = time.perf_counter()
    if backend == "sqlite":
        columns, rows, truncated = _run_sqlite(url, text, row_cap, timeout_s)
    else:
        own = engine is None
        if own:
            from sqlalchemy.pool import NullPool

            engine = create_engine(url, poolclass=NullPool)
        try:
            columns, rows, truncated = _run_postgres(engine, text, row_cap, timeout_s)
        finally:
            if own:
                engine.dispose()
    return QueryResult(columns, rows, truncated, time.perf_counter() - t0, row_cap)


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
    # Third layer: even if something slipped past the parser, SQLite itself refuses to compile
    # anything but reads and function calls (and no dangerous function).
    if action not in _SQLITE_ALLOWED_ACTIONS:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION:
        try:
            _check_function(str(arg2 or ""))
        except ReadOnlyError:
            return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def _run_sqlite(url, text: str, row_cap: int, timeout_s: float):
    from urllib.parse import quote

    db = url.database
    if not db or db == ":memory:" or db.startswith("file::memory:"):
        raise ReadOnlyError("refused: the read-only console needs an SQLite file, not an in-memory database")
    if db.startswith("file:"):  # a URI-style SQLite URL (sqlite:///file:/path?mode=ro&uri=true)
        db = db[len("file:"):].split("?", 1)[0]
    path = Path(db).expanduser().resolve()
    if not path.exists():
        raise ReadOnlyError(f"no catalogue at {path} (run `graphexp build --preset core` or `graphexp db upgrade`)")
    uri = f"file:{quote(str(path))}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=min(timeout_s, 5.0), check_same_thread=False)
    except sqlite3.Error as err:
        raise ReadOnlyError(f"cannot open {path} read-only: {_one_line(str(err))}") from None
    try:
        conn.execute("PRAGMA query_only=ON")
        if hasattr(conn, "setlimit"):
            conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
            conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 100_000_000)
        deadline = time.monotonic() + timeout_s
        state = {"cut": False}

        def progress() -> int:
            if time.monotonic() > deadline:
                state["cut"] = True
                return 1
            return 0

        conn.set_progress_handler(progress, 2000)
        conn.set_authorizer(_sqlite_authorizer)
        try:
            cur = conn.execute(text)
            columns = [d[0] for d in (cur.description or [])]
            rows = cur.fetchmany(row_cap + 1) if cur.description else []
        except sqlite3.Error as err:
            if state["cut"]:
                raise ReadOnlyError(f"query cut at the time limit of {timeout_s:g} s") from None
            msg = str(err)
            if "not authorized" in msg:
                raise ReadOnlyError("refused: the statement needs a permission the read-only console does not grant") from None
            raise ReadOnlyError(f"query failed: {_one_line(msg)}") from None
        except (OverflowError, MemoryError, ValueError) as err:
            raise ReadOnlyError(f"query failed: {_one_line(str(err))}") from None
    finally:
        conn.close()
    truncated = len(rows) > row_cap
    return columns, [tuple(r) for r in rows[:row_cap]], truncated


def _run_postgres(engine, text: str, row_cap: int, timeout_s: float):
    ms = max(1, int(timeout_s * 1000))
    raw = engine.raw_connection()
    try:
        dbapi = raw.driver_connection if hasattr(raw, "driver_connection") else raw.connection
        try:
            dbapi.rollback()
        except Exception:
            pass
        try:
            dbapi.autocommit = False
        except Exception:
            pass
        cur = dbapi.cursor()
        try:
            cur.execute("SET TRANSACTION READ ONLY")
            cur.execute(f"SET LOCAL statement_timeout = {ms}")
            cur.execute(f"SET LOCAL lock_timeout = {ms}")
            cur.execute(f"SET LOCAL idle_in_transaction_session_timeout = {ms + 5000}")
            cur.execute(text)
            columns = [d[0] for d in (cur.description or [])]
            rows = cur.fetchmany(row_cap + 1) if cur.description else []
        except Exception as err:
            msg = str(err)
            sqlstate = getattr(err, "sqlstate", None) or getattr(getattr(err, "diag", None), "sqlstate", None)
            if sqlstate == "57014" or "statement timeout" in msg:
                raise ReadOnlyError(f"query cut at the time limit of {timeout_s:g} s") from None
            if sqlstate == "25006" or "read-only transaction" in msg:
                raise ReadOnlyError("refused: cannot write in a read-only transaction") from None
            raise ReadOnlyError(f"query failed: {_one_line(msg.splitlines()[0] if msg else type(err).__name__)}") from None
        finally:
            try:
                cur.close()
            except Exception:
                pass
            try:
                dbapi.rollback()
            except Exception:
                pass
    finally:
        raw.close()
    truncated = len(rows) > row_cap
    return columns, [tuple(r) for r in rows[:row_cap]], truncated


def _json_cell(v):
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).hex()
    return str(v)


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
