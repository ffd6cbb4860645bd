"""Read-only SQL over the catalogue, and the small read functions the CLI and the web UI call.

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

The second half of the module holds the read functions of the browse pages (``catalogue_counts``,
``search_graphs``, ``graph_detail`` ...).  They take an SQLAlchemy engine and return plain Python /
pandas objects, so the Streamlit pages stay UI only.
"""

from __future__ import annotations

import json
import logging
import math
import re
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "QueryResult",
    "ReadOnlyError",
    "check_readonly",
    "run_readonly",
    "example_queries",
    "catalogue_counts",
    "catalogue_options",
    "genus_distribution",
    "search_graphs",
    "graph_detail",
    "random_label",
    "table_rows",
    "graph_dot",
    "graph_graph6",
    "reproduce_commands",
    "SEARCH_COLUMNS",
    "resolve_url",
    "slot_name",
]

DEFAULT_ROW_CAP = 10_000
DEFAULT_TIMEOUT_S = 10.0


from ..errors import ReadOnlyError  # noqa: E402


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


# --------------------------------------------------------------------------- browse functions
# Columns of the results table in Browse expansions (definitions.py documents each one).
SEARCH_COLUMNS = (
    "label", "shape", "kind", "quantity", "order", "ensemble", "n_vertices", "n_edges", "coefficient",
    "n_pairings", "n_orbits", "min_genus", "max_genus", "max_n_exponent", "n_leading", "complete",
)


def _tables(engine) -> set[str]:
    from sqlalchemy import inspect

    insp = inspect(engine)
    return set(insp.get_table_names()) | set(insp.get_view_names())


def _frame(engine, sql: str, params: dict | None = None):
    import pandas as pd
    from sqlalchemy import text

    with engine.connect() as conn:
        res = conn.execute(text(sql), params or {})
        return pd.DataFrame(res.fetchall(), columns=list(res.keys()))


def catalogue_counts(engine):
    """What the catalogue holds: one row per (shape, quantity, order, ensemble).

    Returns a DataFrame with columns ``shape, kind, quantity, order, ensemble, activation, n_graphs,
    n_pairings, status`` (empty when nothing is stored or the schema is missing).
    """
    import pandas as pd

    cols = ["shape", "kind", "quantity", "order", "ensemble", "activation", "n_graphs", "n_pairings", "status"]
    t = _tables(engine)
    if "expansion" in t:
        df = _frame(
            engine,
            "SELECT e.shape, a.kind, e.quantity, e.\"order\", e.ensemble, e.activation, e.n_graphs, e.n_pairings, e.status "
            "FROM expansion e LEFT JOIN (SELECT shape, MIN(kind) AS kind FROM architecture GROUP BY shape) a ON a.shape = e.shape "
            "ORDER BY e.shape, e.quantity, e.\"order\", e.ensemble"
            if "architecture" in t and "shape" in _columns(engine, "architecture")
            else "SELECT e.shape, NULL AS kind, e.quantity, e.\"order\", e.ensemble, e.activation, e.n_graphs, e.n_pairings, e.status "
            "FROM expansion e ORDER BY e.shape, e.quantity, e.\"order\", e.ensemble",
        )
        if len(df):
            df["kind"] = df["kind"].fillna(df["shape"].map(_kind_of_shape))
            return df[cols]
    if "operator_graph" in t:
        df = _frame(
            engine,
            "SELECT shape, quantity, \"order\", COUNT(*) AS n_graphs FROM operator_graph GROUP BY shape, quantity, \"order\" ORDER BY shape, quantity, \"order\"",
        )
        if len(df):
            df["kind"] = df["shape"].map(_kind_of_shape)
            df["ensemble"] = None
            df["activation"] = None
            df["n_pairings"] = None
            df["status"] = None
            return df[cols]
    return pd.DataFrame(columns=cols)


def _kind_of_shape(shape: Any) -> str:
    s = str(shape or "")
    return re.split(r"[-:]", s, maxsplit=1)[0] if s else ""


def _columns(engine, table: str) -> set[str]:
    from sqlalchemy import inspect

    try:
        return {c["name"] for c in inspect(engine).get_columns(table)}
    except Exception:
        return set()


def table_rows(engine) -> dict[str, int]:
    """Row count of every table (and view) in the catalogue."""
    from sqlalchemy import inspect, text

    out = {}
    insp = inspect(engine)
    with engine.connect() as conn:
        for name in sorted(insp.get_table_names()):
            if name.startswith("alembic"):
                continue
            out[name] = int(conn.execute(text(f'SELECT COUNT(*) FROM "{name}"')).scalar() or 0)
    return out


def genus_distribution(engine, shape: str | None = None, quantity: str | None = None, ensemble: str | None = None):
    """Counts of pairings by surface / N-exponent, per (shape, quantity, order, ensemble).

    Reads ``pairing_aggregate`` (exact counts, text) joined with ``operator_graph``; the ``count``
    column is an exact integer (Python ``int``).
    """
    import pandas as pd

    cols = ["shape", "quantity", "order", "ensemble", "surface", "n_exponent", "count"]
    t = _tables(engine)
    if not {"pairing_aggregate", "operator_graph"} <= t:
        return pd.DataFrame(columns=cols)
    where, params = [], {}
    for col, val in (("g.shape", shape), ("g.quantity", quantity), ("a.ensemble", ensemble)):
        if val:
            key = col.split(".")[1]
            where.append(f"{col} = :{key}")
            params[key] = val
    df = _frame(
        engine,
        "SELECT g.shape, g.quantity, g.\"order\", a.ensemble, a.surface, a.n_exponent, a.count "
        "FROM pairing_aggregate a JOIN operator_graph g ON g.id = a.graph_id"
        + (" WHERE " + " AND ".join(where) if where else ""),
        params,
    )
    if not len(df):
        return pd.DataFrame(columns=cols)
    df["count"] = df["count"].map(lambda v: int(v) if v is not None else 0)
    agg: dict[tuple, int] = {}
    for row in df.itertuples(index=False):
        k = (row.shape, row.quantity, int(row.order), row.ensemble, row.surface, int(row.n_exponent))
        agg[k] = agg.get(k, 0) + int(row.count)
    out = pd.DataFrame([(*k, v) for k, v in sorted(agg.items(), key=lambda kv: (kv[0][:4], -kv[0][5], kv[0][4]))], columns=cols)
    out["count"] = out["count"].astype(object)
    return out


def catalogue_options(engine) -> dict[str, list]:
    """Distinct values for the search filters: shapes, kinds, quantities, ensembles, order range."""
    from sqlalchemy import text

    t = _tables(engine)
    opts: dict[str, list] = {"shape": [], "kind": [], "quantity": [], "ensemble": [], "order": [0, 0], "genus": [0, 0], "n_exponent": [0, 0]}
    if "operator_graph" not in t:
        return opts
    with engine.connect() as conn:
        opts["shape"] = [r[0] for r in conn.execute(text("SELECT DISTINCT shape FROM operator_graph ORDER BY shape"))]
        opts["quantity"] = [r[0] for r in conn.execute(text("SELECT DISTINCT quantity FROM operator_graph ORDER BY quantity"))]
        lo, hi = conn.execute(text('SELECT MIN("order"), MAX("order") FROM operator_graph')).one()
        opts["order"] = [int(lo or 0), int(hi or 0)]
        if "pairing" in t:
            opts["ensemble"] = [r[0] for r in conn.execute(text("SELECT DISTINCT ensemble FROM pairing ORDER BY ensemble"))]
        if "pairing_aggregate" in t and not opts["ensemble"]:
            opts["ensemble"] = [r[0] for r in conn.execute(text("SELECT DISTINCT ensemble FROM pairing_aggregate ORDER BY ensemble"))]
        if "embedding" in t:
            lo, hi = conn.execute(text("SELECT MIN(genus), MAX(genus) FROM embedding")).one()
            opts["genus"] = [int(lo or 0), int(hi or 0)]
            lo, hi = conn.execute(text("SELECT MIN(n_exponent), MAX(n_exponent) FROM embedding")).one()
            opts["n_exponent"] = [int(lo or 0), int(hi or 0)]
    opts["kind"] = sorted({_kind_of_shape(s) for s in opts["shape"]})
    return opts


def search_graphs(
    engine,
    *,
    shape: list[str] | str | None = None,
    kind: list[str] | str | None = None,
    quantity: list[str] | str | None = None,
    order_min: int | None = None,
    order_max: int | None = None,
    ensemble: str | None = None,
    genus_min: int | None = None,
    genus_max: int | None = None,
    n_exponent_min: int | None = None,
    n_exponent_max: int | None = None,
    leading_only: bool = False,
    label_like: str | None = None,
    limit: int = 5000,
):
    """Operator graphs matching the filters, one row per graph with its embedding summary.

    Genus, N-exponent and ``leading_only`` filter on the graph's stored pairings (a graph matches
    when at least one of its pairings, of ``ensemble`` if given, satisfies them).  Columns:
    :data:`SEARCH_COLUMNS`.
    """
    import pandas as pd

    t = _tables(engine)
    if "operator_graph" not in t:
        return pd.DataFrame(columns=list(SEARCH_COLUMNS))
    has_emb = {"pairing", "embedding"} <= t
    where, params = [], {}

    def _in(col: str, key: str, vals) -> None:
        if vals is None or vals == [] or vals == "":
            return
        vals = [vals] if isinstance(vals, str) else list(vals)
        names = []
        for i, v in enumerate(vals):
            params[f"{key}{i}"] = v
            names.append(f":{key}{i}")
        where.append(f"{col} IN ({', '.join(names)})")

    _in("g.shape", "shape", shape)
    _in("g.quantity", "quantity", quantity)
    if kind:
        kinds = [kind] if isinstance(kind, str) else list(kind)
        ors = []
        for i, k in enumerate(kinds):
            params[f"kind{i}"] = f"{k}%"
            ors.append(f"g.shape LIKE :kind{i}")
        where.append("(" + " OR ".join(ors) + ")")
    _between(where, params, 'g."order"', "order", order_min, order_max)
    if label_like:
        where.append("g.label LIKE :label_like")
        params["label_like"] = f"%{label_like}%"
    emb_where = []
    if has_emb:
        if ensemble:
            emb_where.append("p.ensemble = :ensemble")
            params["ensemble"] = ensemble
        _between(emb_where, params, "COALESCE(e.genus, 0)", "genus", genus_min, genus_max)
        _between(emb_where, params, "e.n_exponent", "n", n_exponent_min, n_exponent_max)
        if leading_only:
            emb_where.append('e."leading" = :lead')
            params["lead"] = True
        ew = (" AND " + " AND ".join(emb_where)) if emb_where else ""
        summary = (
            "LEFT JOIN (SELECT p.graph_id, MIN(p.ensemble) AS ensemble, MIN(COALESCE(e.genus, 0)) AS min_genus, "
            "MAX(COALESCE(e.genus, 0)) AS max_genus, MAX(e.n_exponent) AS max_n_exponent, "
            'SUM(CASE WHEN e."leading" THEN 1 ELSE 0 END) AS n_leading '
            f"FROM pairing p JOIN embedding e ON e.pairing_id = p.id WHERE 1=1{ew} GROUP BY p.graph_id) s ON s.graph_id = g.id"
        )
        if emb_where:
            where.append("s.graph_id IS NOT NULL")
        sel = "s.ensemble, s.min_genus, s.max_genus, s.max_n_exponent, s.n_leading"
    else:
        summary = ""
        sel = "NULL AS ensemble, NULL AS min_genus, NULL AS max_genus, NULL AS max_n_exponent, NULL AS n_leading"
    gcols = _columns(engine, "operator_graph")

    def gcol(name: str) -> str:
        return f"g.{name}" if name in gcols else f"NULL AS {name}"

    sql = (
        f"SELECT g.label, g.shape, g.quantity, g.\"order\", {gcol('n_vertices')}, {gcol('n_edges')}, {gcol('coefficient')}, "
        f"{gcol('n_pairings')}, {gcol('n_orbits')}, {gcol('complete')}, {sel} FROM operator_graph g {summary}"
        + (" WHERE " + " AND ".join(where) if where else "")
        + ' ORDER BY g.shape, g.quantity, g."order", g.label LIMIT :lim'
    )
    params["lim"] = int(limit)
    df = _frame(engine, sql, params)
    df["kind"] = df["shape"].map(_kind_of_shape)
    for c in ("coefficient", "n_pairings", "n_orbits"):
        # exact integers are stored as text (they may pass 2**63): sort them as numbers
        df[c] = df[c].map(_as_int).astype(object)
    for c in SEARCH_COLUMNS:
        if c not in df.columns:
            df[c] = None
    return df[list(SEARCH_COLUMNS)]


def _as_int(v):
    if v is None or isinstance(v, int):
        return v
    try:
        return int(str(v))
    except ValueError:
        return v


def random_label(engine, seed: int | None = None) -> str | None:
    """A label drawn uniformly from the stored operator graphs (``None`` when there are none)."""
    import random

    from sqlalchemy import text

    if "operator_graph" not in _tables(engine):
        return None
    with engine.connect() as conn:
        n = int(conn.execute(text("SELECT COUNT(*) FROM operator_graph")).scalar() or 0)
        if n == 0:
            return None
        k = random.Random(seed).randrange(n)
        return conn.execute(text("SELECT label FROM operator_graph ORDER BY id LIMIT 1 OFFSET :k"), {"k": k}).scalar()


def _loads(v, default=None):
    if v is None:
        return default
    if isinstance(v, (dict, list)):
        return v
    try:
        return json.loads(v)
    except (TypeError, ValueError):
        return default


def graph_detail(engine, label: str, *, max_pairings: int = 200) -> dict | None:
    """Everything the detail view shows for one operator graph, or ``None`` for an unknown label.

    Returns a dict with ``graph`` (the operator_graph row, ``graph_json`` decoded), ``pairings`` (a
    DataFrame: pairing rows joined with their embedding, ``blocks`` and ``quotient`` decoded, at most
    ``max_pairings``), ``aggregates`` (pairing_aggregate rows) and ``architecture`` (the first
    architecture row with this shape, if any).
    """
    import pandas as pd

    t = _tables(engine)
    if "operator_graph" not in t or not label:
        return None
    g = _frame(engine, "SELECT * FROM operator_graph WHERE label = :label", {"label": label})
    if not len(g):
        return None
    graph = {k: (None if _isnan(v) else v) for k, v in g.iloc[0].to_dict().items()}
    graph["graph"] = _loads(graph.get("graph_json"), {})
    out: dict[str, Any] = {"graph": graph, "pairings": pd.DataFrame(), "aggregates": pd.DataFrame(), "architecture": None}
    gid = int(graph["id"])
    if {"pairing", "embedding"} <= t:
        df = _frame(
            engine,
            "SELECT p.id AS pairing_id, p.ensemble, p.rank, p.multiplicity, p.blocks_json, e.kind, e.\"V\", e.\"E\", e.\"F\", e.chi, "
            "e.genus, e.crosscaps, e.orientable, e.n_exponent, e.\"leading\", e.contribution, e.quotient_json "
            "FROM pairing p LEFT JOIN embedding e ON e.pairing_id = p.id WHERE p.graph_id = :gid "
            "ORDER BY p.ensemble, e.n_exponent DESC, p.rank LIMIT :lim",
            {"gid": gid, "lim": int(max_pairings)},
        )
        df["blocks"] = df["blocks_json"].map(lambda v: _loads(v, []))
        df["quotient"] = df["quotient_json"].map(lambda v: _loads(v, None))
        out["pairings"] = df
    elif "pairing" in t:
        df = _frame(engine, "SELECT id AS pairing_id, ensemble, rank, multiplicity, blocks_json FROM pairing WHERE graph_id = :gid ORDER BY rank LIMIT :lim", {"gid": gid, "lim": int(max_pairings)})
        df["blocks"] = df["blocks_json"].map(lambda v: _loads(v, []))
        out["pairings"] = df
    if "pairing_aggregate" in t:
        out["aggregates"] = _frame(
            engine,
            "SELECT ensemble, surface, n_exponent, count FROM pairing_aggregate WHERE graph_id = :gid ORDER BY ensemble, n_exponent DESC, surface",
            {"gid": gid},
        )
    if "architecture" in t and "shape" in _columns(engine, "architecture"):
        a = _frame(engine, "SELECT * FROM architecture WHERE shape = :shape", {"shape": graph.get("shape")})
        if len(a):
            out["architecture"] = {k: (None if _isnan(v) else v) for k, v in a.iloc[0].to_dict().items()}
    return out


def _isnan(v) -> bool:
    return isinstance(v, float) and math.isnan(v)


def graph_dot(graph_json: dict, label: str = "G") -> str:
    """Graphviz DOT of an operator graph's JSON (slots = vertices, matrix entries = edges).

    >>> print(graph_dot({"slots": [["N", 1, "", 0], ["in", 0, "x", 0]], "edges": [["W1", 0, 1, 0, 0, 0]]}, "g"))
    digraph "g" {
      0 [label="N1"];
      1 [label="in:x"];
      0 -> 1 [label="W1"];
    }
    """
    lines = [f'digraph "{_dot_escape(label)}" {{']
    for i, s in enumerate(graph_json.get("slots", [])):
        lines.append(f'  {i} [label="{_dot_escape(slot_name(s))}"];')
    for e in graph_json.get("edges", []):
        mat, row, col = e[0], e[1], e[2]
        extra = ("ᵀ" if len(e) > 3 and e[3] else "") + ("*" if len(e) > 4 and e[4] else "")
        lines.append(f'  {row} -> {col} [label="{_dot_escape(str(mat) + extra)}"];')
    lines.append("}")
    return "\n".join(lines)


def slot_name(s) -> str:
    """A short vertex name for a slot ``[kind, node, tag, mark]``."""
    kind, node = s[0], s[1] if len(s) > 1 else ""
    tag = s[2] if len(s) > 2 else ""
    if kind == "in":
        return f"in:{tag}" if tag else "in"
    if kind == "one":
        return "1"
    if kind == "out":
        return "out"
    return f"{kind}{node}"


def _dot_escape(s: str) -> str:
    return str(s).replace("\\", "\\\\").replace('"', '\\"')


def graph_graph6(graph_json: dict) -> str:
    """graph6 string of the underlying simple undirected graph (multi-edges and loops dropped).

    >>> graph_graph6({"slots": [["N", 0], ["N", 1], ["N", 2]], "edges": [["W", 0, 1], ["W", 1, 2]]})
    'Bg'
    """
    import networkx as nx

    G = nx.Graph()
    G.add_nodes_from(range(len(graph_json.get("slots", []))))
    for e in graph_json.get("edges", []):
        if e[1] != e[2]:
            G.add_edge(int(e[1]), int(e[2]))
    return nx.to_graph6_bytes(G, header=False).decode().strip()


def reproduce_commands(graph: dict, architecture: dict | None = None, db_url: str | None = None, ensemble: str | None = None) -> tuple[str, str]:
    """The CLI lines and the Python snippet that reproduce a stored graph (and its pairings).

    >>> cli, py = reproduce_commands({"shape": "ginibre-p2", "quantity": "trace", "order": 3, "label": "ginibre-p2.tr.o3.1"})
    >>> cli.splitlines()[0]
    'graphexp expand --quantity trace --order 3 --p 2'
    >>> py.splitlines()[1]
    'graph = trace_word_graph(2, 3)'
    """
    shape = str(graph.get("shape", ""))
    quantity = str(graph.get("quantity", ""))
    order = int(graph.get("order", 0) or 0)
    label = str(graph.get("label", ""))
    db = f" --db {db_url}" if db_url else ""
    ens = f" --ensemble {ensemble}" if ensemble and ensemble != "gaussian" else ""
    m = re.match(r"^ginibre-p(\d+)$", shape)
    if quantity == "trace" and m:
        p = int(m.group(1))
        cli = f"graphexp expand --quantity trace --order {order} --p {p}{ens}{db}"
        py = f"from graphexp_db import trace_word_graph\ngraph = trace_word_graph({p}, {order})"
    elif quantity == "gue":
        cli = f"graphexp expand --quantity gue --order {order}{db}"
        py = f"from graphexp_db import gue_graph\ngraph = gue_graph({order})"
    else:
        arch = _arch_spec_of(shape, architecture)
        cli = f"graphexp expand --arch '{arch}' --quantity {quantity} --order {order}{ens}{db}"
        idx = graph.get("index")
        idx = int(idx) if idx is not None and str(idx).isdigit() else 1
        py = (
            "from graphexp_db import canonical_graphs, iter_operator_graphs, parse_arch\n"
            f"classes = canonical_graphs(iter_operator_graphs(parse_arch({arch!r}), {quantity!r}, {order}))\n"
            f"certificate, graph = classes[{idx} - 1]  # labels index the classes sorted by certificate"
        )
    cli += f"\ngraphexp query \"SELECT * FROM operator_graph WHERE label = '{label}'\"{db}"
    py += (
        "\nfrom graphexp_db import PairingSpace, count_pairings, embed_one\n"
        f"# catalogue row {label!r} (index {graph.get('index')}); its pairings: PairingSpace(graph).pairs(rank), embed_one(graph, pairs)"
    )
    return cli, py


def _arch_spec_of(shape: str, architecture: dict | None) -> str:
    if architecture and architecture.get("spec"):
        spec = architecture["spec"]
        if isinstance(spec, str) and not spec.lstrip().startswith("{"):
            return spec
    m = re.match(r"^(mlp|resnet)-L(\d+)$", shape)
    if m:
        return f"{m.group(1)}:L={m.group(2)}"
    m = re.match(r"^ginibre-p(\d+)$", shape)
    if m:
        return f"ginibre:p={m.group(1)}"
    return shape


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


def _between(where: list, params: dict, column: str, name: str, lo, hi) -> None:
    """Append ``column >= :<name>_min`` / ``column <= :<name>_max`` for the bounds that are given."""
    if lo is not None:
        where.append(f"{column} >= :{name}_min")
        params[f"{name}_min"] = int(lo)
    if hi is not None:
        where.append(f"{column} <= :{name}_max")
        params[f"{name}_max"] = int(hi)
