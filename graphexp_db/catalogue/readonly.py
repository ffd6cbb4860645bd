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
"""

from __future__ import annotations

import logging
import math
import os
import re
import sqlite3
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CatalogueError, ReadOnlyError

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

DEFAULT_ROW_CAP = 10_000
DEFAULT_TIMEOUT_S = 10.0
#: Largest accepted row cap and time limit (PostgreSQL's statement_timeout stops at ~24.8 days).
MAX_ROW_CAP = 1_000_000
MAX_TIMEOUT_S = 600.0
#: The result kept in memory stops at this many bytes (the result is then marked truncated).
MAX_RESULT_BYTES = 32 * 2**20
#: One value (SQLite ``SQLITE_LIMIT_LENGTH``) / one row (PostgreSQL guard) at most.
MAX_VALUE_BYTES = 4 * 2**20
#: Growth of this process's memory allowed while one SQLite query runs.
MEMORY_BUDGET_BYTES = 256 * 2**20
#: SQLite virtual-machine instructions one query may execute.
SQLITE_MAX_STEPS = 2_000_000_000
#: PostgreSQL per-operation memory and temporary-file space of one query.
PG_WORK_MEM = "16MB"
PG_TEMP_FILE_LIMIT = "256MB"
MAX_QUERY_CHARS = 20_000
#: Name of the read-only PostgreSQL role (``graphexp db reader`` creates it).
READ_ROLE = "graphexp_reader"
_FETCH_BATCH = 64


def query_caps() -> dict:
    """The caps every console query runs under, for the CLI help and the web UI.

    >>> caps = query_caps()
    >>> caps["row_cap_max"], caps["timeout_s_max"], caps["memory_budget_mb"]
    (1000000, 600.0, 256)
    """
    return {
        "row_cap_default": DEFAULT_ROW_CAP,
        "row_cap_max": MAX_ROW_CAP,
        "timeout_s_default": DEFAULT_TIMEOUT_S,
        "timeout_s_max": MAX_TIMEOUT_S,
        "result_mb_max": MAX_RESULT_BYTES // 2**20,
        "value_mb_max": MAX_VALUE_BYTES // 2**20,
        "memory_budget_mb": MEMORY_BUDGET_BYTES // 2**20,
        "query_chars_max": MAX_QUERY_CHARS,
        "postgres_work_mem": PG_WORK_MEM,
        "postgres_temp_file_limit": PG_TEMP_FILE_LIMIT,
        "postgres_role": READ_ROLE,
        "summary": (
            f"read-only; at most {DEFAULT_ROW_CAP:,} rows by default (max {MAX_ROW_CAP:,}), "
            f"{DEFAULT_TIMEOUT_S:g} s by default (max {MAX_TIMEOUT_S:g} s), "
            f"{MAX_RESULT_BYTES // 2**20} MB of results, {MAX_VALUE_BYTES // 2**20} MB per value, "
            f"{MEMORY_BUDGET_BYTES // 2**20} MB of working memory"
        ),
    }


@dataclass(frozen=True)
class QueryResult:
    """Columns and rows of a read-only query; ``truncated`` when the row cap cut the result.

    ``meta`` says which cap cut it (``"cut_by"``: ``"rows"`` or ``"bytes"``) and the caps used.
    """

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


# --------------------------------------------------------------------------- layer 1: allowlist
#: Functions a console query may call, by the name the user types (lower case).  Harmless
#: aggregates, math, string, JSON-extraction, date and window functions only.  Not here (and so
#: refused): anything that reads or lists files, executes or parses SQL/XML/text search queries
#: given as strings, large objects, settings, sleeping, signalling, sequences, random blobs,
#: padding/repeat helpers that only exist to build huge strings, and every ``pg_*`` / ``sqlite_*``
#: / ``pragma_*`` function.
ALLOWED_FUNCTIONS = frozenset(
    """
    count sum avg min max total group_concat string_agg bool_and bool_or every
    stddev stddev_pop stddev_samp variance var_pop var_samp
    abs round floor ceil ceiling sign sqrt power pow exp ln log log10 log2 mod trunc greatest least
    coalesce ifnull nullif iif
    length char_length character_length octet_length lower upper trim ltrim rtrim btrim
    substr substring replace instr strpos position concat concat_ws left right reverse split_part
    starts_with typeof
    json_extract json_array_length jsonb_array_length json_extract_path_text jsonb_extract_path_text
    json_typeof jsonb_typeof
    row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value nth_value
    generate_series date time datetime julianday strftime date_trunc extract
    cast
    """.split()
)
# Words that legitimately precede "(" without being a call.
_KEYWORDS_BEFORE_PAREN = frozenset(
    """
    in exists values over filter any all some within lateral recursive as on using from select where
    join and or not case when then else end is like glob between union except intersect by having
    limit offset window partition rows range groups materialized with distinct array row interval
    ordinality group order asc desc nulls first last explain query plan inner outer left right full
    cross natural
    """.split()
)
# Types a value may be cast to (as typed, and as sqlglot's DataType names).
_ALLOWED_TYPE_WORDS = frozenset(
    """
    int integer int2 int4 int8 bigint smallint real double precision float float4 float8 numeric
    decimal text varchar char character varying boolean bool date time timestamp timestamptz with
    without zone json jsonb
    """.split()
)
_ALLOWED_TYPES = frozenset(
    "INT BIGINT SMALLINT TINYINT FLOAT DOUBLE DECIMAL TEXT VARCHAR CHAR NCHAR NVARCHAR BPCHAR BOOLEAN "
    "DATE TIME TIMESTAMP TIMESTAMPTZ JSON JSONB".split()
)
_SYSTEM_TABLES = {"sqlite": frozenset({"sqlite_master", "sqlite_schema"}), "postgres": frozenset()}
_INFO_SCHEMA_TABLES = frozenset({"tables", "columns", "views"})
_EXPLAIN = re.compile(r"^\s*explain\b(\s+query\s+plan\b)?", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_FUNC_CLASSES: dict[str, frozenset] = {}


def _dialect_of(name: str) -> str:
    return {"postgresql": "postgres", "sqlite": "sqlite"}.get(name, name)


def _one_line(msg: str, limit: int = 240) -> str:
    from ..errors import one_line

    return one_line(msg, limit)


def _allowed_func_classes(dialect: str) -> frozenset:
    """sqlglot classes the allowed names parse to (derived, so the two lists cannot drift)."""
    if dialect in _FUNC_CLASSES:
        return _FUNC_CLASSES[dialect]
    import sqlglot
    from sqlglot import exp

    names = set()
    for fn in ALLOWED_FUNCTIONS - {"cast", "extract", "position"}:
        for args in ("", "x", "x, 2", "x, 2, 3"):
            try:
                tree = sqlglot.parse_one(f"SELECT {fn}({args}) FROM t", read=dialect)
            except Exception:  # noqa: BLE001 - wrong arity for this function: try the next
                continue
            names |= {type(n).__name__ for n in tree.walk() if isinstance(n, exp.Func) and not isinstance(n, exp.Anonymous)}
    # Syntax (not calls by name) that sqlglot models as functions.
    names |= {"Cast", "TryCast", "Case", "If", "Extract", "Count", "StrPosition", "Substring", "Trim", "Array", "Star",
              "Coalesce", "Exists", "Any", "All", "Interval", "Struct", "Tuple", "CurrentDate", "CurrentTimestamp",
              "CurrentTime", "Filter", "WithinGroup"}
    _FUNC_CLASSES[dialect] = frozenset(names)
    return _FUNC_CLASSES[dialect]


def check_readonly(sql: str, dialect: str = "sqlite", tables: set[str] | frozenset[str] | None = None,
                   columns: set[str] | frozenset[str] | None = None) -> str:
    """Refuse anything that is not exactly one allowlisted read-only query; return the SQL to run.

    Parameters
    ----------
    sql : str
        What the visitor typed.
    dialect : str
        ``"sqlite"`` or ``"postgres"`` (sqlglot dialect names; ``"postgresql"`` is accepted).
    tables : set of str, optional
        The catalogue's tables and views; when given, every table the query reads must be one of
        them (or a CTE of the query).
    columns : set of str, optional
        The catalogue's column names; when given, a qualified reference ``t.name`` must name one
        of them or a name the query defines (PostgreSQL reads ``t.f`` as the call ``f(t)``).

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
    >>> try:
    ...     check_readonly('SELECT "PG_READ_FILE"(\\'/etc/passwd\\')', "postgres")
    ... except ReadOnlyError as err:
    ...     print(err)
    refused: function pg_read_file() is not on the console's allowlist
    """
    import sqlglot
    from sqlglot import exp

    dialect = _dialect_of(dialect)
    if dialect not in ("sqlite", "postgres"):
        raise ReadOnlyError(f"refused: the read-only console supports SQLite and PostgreSQL, not {dialect}")
    if not isinstance(sql, str) or not sql.strip():
        raise ReadOnlyError("refused: empty query")
    if len(sql) > MAX_QUERY_CHARS:
        raise ReadOnlyError(f"refused: query longer than {MAX_QUERY_CHARS} characters")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") and ch not in "\t\n\r" for ch in sql):
        raise ReadOnlyError("refused: control or invisible characters in the query")
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
        tokens = sqlglot.Dialect.get_or_raise(dialect).tokenize(body)
        statements = [s for s in sqlglot.parse(body, read=dialect) if s is not None and not isinstance(s, exp.Semicolon)]
    except Exception as err:  # sqlglot.errors.ParseError, TokenError, RecursionError ...
        raise ReadOnlyError(f"refused: could not parse the query ({_one_line(str(err), 120)})") from None
    finally:
        logger.setLevel(old)
    if len(statements) != 1:
        raise ReadOnlyError(f"refused: exactly one statement is allowed (got {len(statements)})")
    tree = statements[0]

    if not isinstance(tree, (exp.Select, exp.SetOperation, exp.Values, exp.Subquery)):
        kind = tree.key.upper() if not isinstance(tree, exp.Command) else str(tree.this).upper()
        raise ReadOnlyError(f"refused: only SELECT / WITH ... SELECT / VALUES / EXPLAIN queries are allowed (got {kind})")

    local_names = _local_names(tree)
    _check_tokens(tokens, dialect, local_names)
    _check_tree(tree, dialect, local_names, tables)
    if columns is not None:
        _check_columns(tree, local_names, columns)
    # Drop trailing semicolons and comments (the statement may be wrapped in a subquery to run).
    from sqlglot.tokens import TokenType

    last = [t for t in tokens if t.token_type != TokenType.SEMICOLON]
    if last and isinstance(getattr(last[-1], "end", None), int) and body[last[-1].end] in (last[-1].text[-1:], "'", '"', "`", "]"):
        trimmed = body[: last[-1].end + 1].rstrip()
        text = (text[: m.end()] + " " + trimmed) if m else trimmed
    return text


def _local_names(tree) -> set[str]:
    """CTE names, table aliases and their column lists (they may precede "(" legitimately)."""
    from sqlglot import exp

    names = set()
    for node in tree.walk():
        node = node[0] if isinstance(node, tuple) else node
        if isinstance(node, (exp.CTE, exp.TableAlias)):
            alias = node.alias if isinstance(node, exp.CTE) else node.name
            if alias:
                names.add(alias.lower())
    return names


def _check_tokens(tokens, dialect: str, local_names: set[str]) -> None:
    """Token-level rules: what the server will read, whatever sqlglot makes of it."""
    from sqlglot.tokens import TokenType

    strings = {TokenType.STRING, TokenType.NATIONAL_STRING} if hasattr(TokenType, "NATIONAL_STRING") else {TokenType.STRING}
    refused_strings = {getattr(TokenType, n) for n in ("BYTE_STRING", "HEREDOC_STRING", "RAW_STRING", "UNICODE_STRING", "HEX_STRING", "BIT_STRING") if hasattr(TokenType, n)}
    calls_ok = ALLOWED_FUNCTIONS | _KEYWORDS_BEFORE_PAREN | _ALLOWED_TYPE_WORDS | local_names
    n = len(tokens)
    for i, tok in enumerate(tokens):
        tt, word = tok.token_type, tok.text
        nxt = tokens[i + 1] if i + 1 < n else None
        prev = tokens[i - 1] if i > 0 else None
        if tt in refused_strings:
            raise ReadOnlyError("refused: escape, dollar-quoted, unicode, hex and bit string literals are not allowed; use plain '...' strings")
        if tt in strings:
            continue
        if not word.isascii():
            raise ReadOnlyError("refused: non-ASCII characters are only allowed inside '...' string literals")
        lw = word.lower()
        if tt == TokenType.OBJECT_IDENTIFIER if hasattr(TokenType, "OBJECT_IDENTIFIER") else False:
            raise ReadOnlyError(f"refused: type {lw} is not allowed in the console")
        if nxt is not None and nxt.token_type == TokenType.AMP and lw == "u" and (i + 2 < n) and tokens[i + 2].token_type in (TokenType.IDENTIFIER, *strings):
            raise ReadOnlyError("refused: unicode-escape strings and identifiers (U&...) are not allowed")
        if tt == TokenType.PARAMETER or word.startswith("$") or tt == getattr(TokenType, "PLACEHOLDER", None):
            raise ReadOnlyError("refused: parameters and placeholders are not allowed")
        is_name = tt == TokenType.IDENTIFIER or _WORD.fullmatch(word) is not None
        if nxt is not None and nxt.token_type == TokenType.L_PAREN and is_name:
            if prev is not None and prev.token_type == TokenType.DOT:
                raise ReadOnlyError(f"refused: schema-qualified call ...{lw}() is not allowed")
            if lw not in calls_ok or (tt == TokenType.IDENTIFIER and lw not in ALLOWED_FUNCTIONS | local_names):
                raise ReadOnlyError(f"refused: function {lw}() is not on the console's allowlist")
        if prev is not None and prev.token_type == TokenType.DCOLON and lw not in _ALLOWED_TYPE_WORDS:
            raise ReadOnlyError(f"refused: cast to {lw} is not allowed (allowed: numbers, text, boolean, date/time, json)")
        if dialect == "postgres" and nxt is not None and nxt.token_type in strings and is_name and tt in (TokenType.VAR, TokenType.IDENTIFIER):
            # ``typename 'literal'`` is a typed literal on PostgreSQL (``xml '...'``, ``regproc '...'``)
            if lw not in _ALLOWED_TYPE_WORDS:
                raise ReadOnlyError(f"refused: typed literal {lw} '...' is not allowed")


def _check_columns(tree, local_names: set[str], columns) -> None:
    from sqlglot import exp

    defined = {str(a.alias).lower() for a in tree.find_all(exp.Alias)} | set(local_names)
    for ta in tree.find_all(exp.TableAlias):
        defined |= {str(c.name).lower() for c in ta.columns}
    known = {c.lower() for c in columns} | defined
    for col in tree.find_all(exp.Column):
        if col.table and not isinstance(col.this, exp.Star) and str(col.name).lower() not in known:
            raise ReadOnlyError(f"refused: {col.table}.{col.name} is not a column of the catalogue")


def _check_tree(tree, dialect: str, local_names: set[str], tables) -> None:
    from sqlglot import exp

    forbidden = tuple(
        getattr(exp, n)
        for n in (
            "Insert", "Update", "Delete", "Create", "Drop", "Alter", "Command", "Merge", "Into", "Pragma",
            "Attach", "Detach", "TruncateTable", "Transaction", "Commit", "Rollback", "Set", "Use", "Copy",
            "LoadData", "Lock", "Analyze", "Grant", "Revoke", "Comment", "Cache", "Uncache", "Refresh",
            "Describe", "Kill", "Install", "Summarize", "Export", "Show", "Parameter", "Placeholder",
            "SessionParameter", "Heredoc", "ByteString", "HexString", "BitString", "UnicodeString", "RawString",
            "National",
        )
        if hasattr(exp, n)
    )
    func_classes = _allowed_func_classes(dialect)
    known = {t.lower() for t in tables} if tables is not None else None
    for node in tree.walk():
        node = node[0] if isinstance(node, tuple) else node
        if isinstance(node, forbidden):
            what = {"Into": "SELECT ... INTO", "Lock": "FOR UPDATE/SHARE"}.get(type(node).__name__, type(node).__name__.upper())
            raise ReadOnlyError(f"refused: {what} is not allowed in a read-only query")
        if isinstance(node, exp.Anonymous):
            name = str(node.name).lower()
            if name not in ALLOWED_FUNCTIONS:
                raise ReadOnlyError(f"refused: function {name}() is not on the console's allowlist")
        elif isinstance(node, exp.Func) and type(node).__name__ not in func_classes and not isinstance(node, (exp.Binary, exp.Connector, exp.Unary)):
            raise ReadOnlyError(f"refused: {node.sql_name().lower()}() is not on the console's allowlist")
        elif isinstance(node, exp.DataType):
            tname = node.this.name if hasattr(node.this, "name") else str(node.this)
            if tname not in _ALLOWED_TYPES:
                raise ReadOnlyError(f"refused: type {node.sql(dialect=dialect).lower()} is not allowed (allowed: numbers, text, boolean, date/time, json)")
        elif isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
            _check_table(node, dialect, local_names, known)


def _check_table(node, dialect: str, local_names: set[str], known) -> None:
    name = node.name.lower()
    schema = (node.db or "").lower()
    if node.catalog:
        raise ReadOnlyError(f"refused: table {node.sql()} names a database; read the catalogue's own tables")
    if schema == "information_schema" and dialect == "postgres" and name in _INFO_SCHEMA_TABLES:
        return
    if schema and schema not in ("main", "public"):
        raise ReadOnlyError(f"refused: schema {schema!r} is not readable from the console; read the catalogue's own tables")
    if name in local_names and not schema:
        return
    if name in _SYSTEM_TABLES[dialect]:
        return
    if name.startswith(("pg_", "sqlite_", "pragma_")):
        raise ReadOnlyError(f"refused: system table {name} is not readable from the console")
    if known is not None and name not in known:
        raise ReadOnlyError(f"refused: no table or view {name!r} in the catalogue")


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


def _cell_size(v) -> int:
    if v is None or isinstance(v, (bool, int, float)):
        return 16
    if isinstance(v, str):
        return 49 + len(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return 33 + len(v)
    return 64 + len(str(v))


def _collect(fetch, row_cap: int, max_bytes: int, meta: dict):
    """Fetch rows batch by batch until the row cap or the byte cap; return (rows, truncated)."""
    rows: list[tuple] = []
    size = 0
    while True:
        batch = fetch(min(_FETCH_BATCH, row_cap + 1 - len(rows)))
        if not batch:
            return rows, False
        for r in batch:
            if len(rows) >= row_cap:
                meta["cut_by"] = "rows"
                return rows, True
            r = tuple(r)
            size += 56 + sum(_cell_size(v) for v in r)
            if size > max_bytes:
                meta["cut_by"] = "bytes"
                return rows, True
            rows.append(r)


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


def _run_sqlite(url, text: str, row_cap: int, timeout_s: float, *, max_bytes: int = MAX_RESULT_BYTES, meta: dict | None = None,
                _check: bool = True):
    from urllib.parse import quote

    meta = {} if meta is None else meta
    path = _sqlite_path(url)
    if _check:  # (tests switch the parser off to prove the connection layer alone)
        check_readonly(text, "sqlite", sqlite_tables(path))
    uri = f"file:{quote(str(path))}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=min(timeout_s, 5.0), check_same_thread=False)
    except sqlite3.Error as err:
        raise ReadOnlyError(f"cannot open {path} read-only: {_one_line(str(err))}") from None
    try:
        try:
            conn.execute("PRAGMA query_only=ON")
            conn.execute("PRAGMA temp_store=MEMORY")  # sorts and temp b-trees count against the memory budget, no temp files
            conn.execute("PRAGMA trusted_schema=OFF")
        except sqlite3.Error as err:
            raise ReadOnlyError(f"cannot read {path} as an SQLite catalogue: {_one_line(str(err))}") from None
        if hasattr(conn, "setlimit"):
            for name, value in (
                ("SQLITE_LIMIT_ATTACHED", 0), ("SQLITE_LIMIT_LENGTH", MAX_VALUE_BYTES), ("SQLITE_LIMIT_SQL_LENGTH", 4 * MAX_QUERY_CHARS),
                ("SQLITE_LIMIT_COLUMN", 256), ("SQLITE_LIMIT_EXPR_DEPTH", 200), ("SQLITE_LIMIT_COMPOUND_SELECT", 64),
                ("SQLITE_LIMIT_FUNCTION_ARG", 32), ("SQLITE_LIMIT_LIKE_PATTERN_LENGTH", 1000), ("SQLITE_LIMIT_VARIABLE_NUMBER", 0),
                ("SQLITE_LIMIT_TRIGGER_DEPTH", 1), ("SQLITE_LIMIT_WORKER_THREADS", 0),
            ):
                if hasattr(sqlite3, name):
                    conn.setlimit(getattr(sqlite3, name), value)
        deadline = time.monotonic() + timeout_s
        rss0 = _rss_bytes()
        period = 1000
        state = {"cut": None, "steps": 0}

        def progress() -> int:
            state["steps"] += period
            if time.monotonic() > deadline:
                state["cut"] = f"query cut at the time limit of {timeout_s:g} s"
            elif state["steps"] > SQLITE_MAX_STEPS:
                state["cut"] = f"query cut at the budget of {SQLITE_MAX_STEPS:,} SQLite instructions"
            elif state["steps"] % (period * 16) == 0 and _rss_bytes() - rss0 > MEMORY_BUDGET_BYTES:
                state["cut"] = f"query cut at the memory budget of {MEMORY_BUDGET_BYTES // 2**20} MB"
            return 1 if state["cut"] else 0

        conn.set_progress_handler(progress, period)
        conn.set_authorizer(_sqlite_authorizer)
        try:
            cur = conn.execute(text)
            columns = [d[0] for d in (cur.description or [])]
            rows, truncated = _collect(cur.fetchmany, row_cap, max_bytes, meta) if cur.description else ([], False)
        except sqlite3.Error as err:
            if state["cut"]:
                raise ReadOnlyError(state["cut"]) from None
            msg = str(err)
            if "not authorized" in msg:
                raise ReadOnlyError("refused: the statement needs a permission the read-only console does not grant") from None
            if "too big" in msg:
                raise ReadOnlyError(f"query cut: a value is over the cap of {MAX_VALUE_BYTES // 2**20} MB") from None
            raise ReadOnlyError(f"query failed: {_one_line(msg)}") from None
        except (OverflowError, MemoryError, ValueError, RecursionError) as err:
            raise ReadOnlyError(f"query failed: {_one_line(str(err) or type(err).__name__)}") from None
    finally:
        conn.close()
        _release_memory()
    return columns, rows, truncated


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


class _ConnectError(ReadOnlyError):
    """The connection itself failed (the caller may try another login)."""


# Roles whose rights reach outside the catalogue: a connection holding any of them is refused.
_PG_DANGEROUS_ROLES = ("pg_read_server_files", "pg_write_server_files", "pg_execute_server_program", "pg_signal_backend")


def _run_postgres(engine, text: str, row_cap: int, timeout_s: float, *, allow_superuser: bool = False, max_bytes: int = MAX_RESULT_BYTES,
                  meta: dict | None = None, _check: bool = True):
    meta = {} if meta is None else meta
    ms = max(1, int(timeout_s * 1000))
    try:
        raw = engine.raw_connection()
    except Exception as err:  # noqa: BLE001 - refused port, unknown host/database/role ...
        raise _ConnectError(f"cannot connect to the catalogue: {_one_line(str(err).splitlines()[0] if str(err) else type(err).__name__, 200)}") from None
    try:
        dbapi = raw.driver_connection if hasattr(raw, "driver_connection") else raw.connection
        try:
            dbapi.rollback()
        except Exception:  # noqa: BLE001
            pass
        try:
            dbapi.autocommit = False
        except Exception:  # noqa: BLE001
            pass
        cur = dbapi.cursor()
        named = None
        try:
            cur.execute("SET TRANSACTION READ ONLY")
            cur.execute(f"SET LOCAL statement_timeout = {ms}")
            cur.execute(f"SET LOCAL lock_timeout = {ms}")
            cur.execute(f"SET LOCAL idle_in_transaction_session_timeout = {ms + 5000}")
            cur.execute("SET LOCAL standard_conforming_strings = on")
            cur.execute(f"SET LOCAL work_mem = '{PG_WORK_MEM}'")
            meta["role"] = _pg_assume_reader(cur, allow_superuser)
            cur.execute("SELECT c.relname FROM pg_class c WHERE c.relnamespace IN (SELECT n.oid FROM pg_namespace n WHERE n.nspname = ANY (current_schemas(false))) AND c.relkind IN ('r', 'v', 'm', 'p', 'f')")
            tables = frozenset(str(r[0]).lower() for r in cur.fetchall())
            cur.execute("SELECT DISTINCT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                        "WHERE c.relnamespace IN (SELECT n.oid FROM pg_namespace n WHERE n.nspname = ANY (current_schemas(false))) "
                        "AND a.attnum > 0 AND NOT a.attisdropped")
            columns = frozenset(str(r[0]).lower() for r in cur.fetchall()) | {"table_name", "column_name", "table_schema", "data_type"}
            if _check:  # (tests switch the parser off to prove the transaction layer alone)
                check_readonly(text, "postgres", tables, columns)
            if _EXPLAIN.match(text):
                cur.execute(text)
                columns = [d[0] for d in (cur.description or [])]
                rows, truncated = _collect(cur.fetchmany, row_cap, max_bytes, meta) if cur.description else ([], False)
            else:
                # A server-side cursor streams the rows; the guard column makes the server refuse a
                # row over MAX_VALUE_BYTES before it is sent (no constant: not folded at plan time).
                wrapped = (
                    "SELECT CASE WHEN pg_column_size(graphexp_q.*) > " + str(MAX_VALUE_BYTES)
                    + " THEN CAST('graphexp-row-cap ' || pg_column_size(graphexp_q.*)::text AS int) END AS graphexp_guard, graphexp_q.* FROM (\n"
                    + text + "\n) AS graphexp_q"
                )
                named = dbapi.cursor(name="graphexp_console")
                named.execute(wrapped)
                columns = [d[0] for d in (named.description or [])][1:]
                rows, truncated = _collect(lambda k: [r[1:] for r in named.fetchmany(k)], row_cap, max_bytes, meta)
        except ReadOnlyError:
            raise
        except Exception as err:  # noqa: BLE001 - psycopg errors: one line
            msg = str(err)
            sqlstate = getattr(err, "sqlstate", None) or getattr(getattr(err, "diag", None), "sqlstate", None)
            if sqlstate == "57014" or "statement timeout" in msg:
                raise ReadOnlyError(f"query cut at the time limit of {timeout_s:g} s") from None
            if sqlstate == "25006" or "read-only transaction" in msg:
                raise ReadOnlyError("refused: cannot write in a read-only transaction") from None
            if "graphexp-row-cap" in msg:
                raise ReadOnlyError(f"query cut: a row is over the cap of {MAX_VALUE_BYTES // 2**20} MB") from None
            if sqlstate == "53400" or "temp_file_limit" in msg:
                raise ReadOnlyError(f"query cut: it needs more than {PG_TEMP_FILE_LIMIT} of temporary files") from None
            if sqlstate in ("53200", "54000", "54001"):
                raise ReadOnlyError(f"query cut: the server ran out of memory or a limit ({_one_line(msg.splitlines()[0], 120)})") from None
            if sqlstate == "42501":
                raise ReadOnlyError(f"query failed: {_one_line(msg.splitlines()[0], 160)} (run `graphexp db reader` on this catalogue to grant the read-only role)") from None
            raise ReadOnlyError(f"query failed: {_one_line(msg.splitlines()[0] if msg else type(err).__name__)}") from None
        finally:
            for c in (named, cur):
                if c is not None:
                    try:
                        c.close()
                    except Exception:  # noqa: BLE001
                        pass
            try:
                dbapi.rollback()
            except Exception:  # noqa: BLE001
                pass
    finally:
        raw.close()
    return columns, rows, truncated


def _pg_assume_reader(cur, allow_superuser: bool) -> str:
    """``SET LOCAL ROLE`` to the read-only role when possible; refuse a dangerous effective role."""
    cur.execute(
        "SELECT r.rolsuper, EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s), "
        "EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s AND pg_has_role(session_user, oid, 'MEMBER')) "
        "FROM pg_roles r WHERE r.rolname = session_user",
        (READ_ROLE, READ_ROLE),
    )
    row = cur.fetchone()
    is_super, exists, member = (bool(row[0]), bool(row[1]), bool(row[2])) if row else (False, False, False)
    if exists and (is_super or member):
        if is_super:
            cur.execute(f"SET LOCAL temp_file_limit = '{PG_TEMP_FILE_LIMIT}'")
        cur.execute(f'SET LOCAL ROLE "{READ_ROLE}"')
    cur.execute(
        "SELECT current_user, r.rolsuper, r.rolreplication, r.rolbypassrls, r.rolcreaterole, "
        "ARRAY(SELECT g.rolname FROM pg_roles g WHERE g.rolname = ANY (%s) AND pg_has_role(current_user, g.oid, 'MEMBER')) "
        "FROM pg_roles r WHERE r.rolname = current_user",
        (list(_PG_DANGEROUS_ROLES),),
    )
    user, rsuper, repl, bypass, createrole, groups = cur.fetchone()
    rights = [n for n, flag in (("superuser", rsuper), ("replication", repl), ("bypassrls", bypass), ("createrole", createrole)) if flag] + list(groups or [])
    if rights and not allow_superuser:
        what = "a superuser" if rsuper else f"a role with {', '.join(rights)} rights"
        raise ReadOnlyError(
            f"refused: the console would run as {user!r}, {what}; "
            "run `graphexp db reader` (creates the read-only role), or give its URL with --read-db / GRAPHEXP_READ_DB, "
            "or pass --allow-superuser"
        )
    return str(user)


def ensure_reader_role(url_or_engine: Any, *, role: str = READ_ROLE, password: str | None = None) -> dict:
    """Create (or repair) the read-only PostgreSQL role and grant it ``SELECT`` on the catalogue.

    The role gets no superuser, role-creation, database-creation, replication or RLS-bypass
    attribute, is removed from ``pg_read_server_files`` / ``pg_write_server_files`` /
    ``pg_execute_server_program`` / ``pg_signal_backend``, and receives ``CONNECT`` on the
    database, ``USAGE`` on the catalogue's schema and ``SELECT`` on its tables and views (also
    those created later by the same owner).  Per-role defaults cap its queries (read-only
    transactions, ``statement_timeout``, ``work_mem``, ``temp_file_limit`` where permitted).
    The role may log in: :func:`run_readonly` connects as it (same server, database and options as
    the catalogue URL, no password) when the server allows that, and otherwise falls back to
    ``SET LOCAL ROLE`` from the catalogue's own connection.  With ``password`` its login URL can
    also go in ``GRAPHEXP_READ_DB``.

    Parameters
    ----------
    url_or_engine : str or Engine
        The catalogue, connected as a role that may create roles and grant on the catalogue.
    role : str
        Role name (letters, digits, underscore).
    password : str, optional
        Make the role a login role with this password.

    Returns
    -------
    dict
        ``{"role", "schema", "database", "login", "read_url"}``.

    Raises
    ------
    CatalogueError
        On SQLite (nothing to do: the console opens the file read-only) or when the connection
        may not create the role.
    """
    from sqlalchemy import create_engine
    from sqlalchemy.engine import Engine, make_url
    from sqlalchemy.pool import NullPool

    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role or ""):
        raise CatalogueError(f"role name must be lower-case letters, digits and _ (got {role!r})")
    if isinstance(url_or_engine, Engine):
        engine, own = url_or_engine, False
    else:
        u = make_url(str(url_or_engine))
        if u.drivername in ("postgresql", "postgres"):
            u = u.set(drivername="postgresql+psycopg")
        if u.get_backend_name() != "postgresql":
            raise CatalogueError("a read-only role exists only on PostgreSQL; SQLite catalogues are opened read-only (mode=ro) by the console")
        engine, own = create_engine(u, poolclass=NullPool), True
    if engine.url.get_backend_name() != "postgresql":
        raise CatalogueError("a read-only role exists only on PostgreSQL; SQLite catalogues are opened read-only (mode=ro) by the console")
    try:
        raw = engine.raw_connection()
    except Exception as err:  # noqa: BLE001
        raise CatalogueError(f"cannot connect to the catalogue: {_one_line(str(err).splitlines()[0] if str(err) else type(err).__name__, 200)}") from None
    try:
        conn = raw.driver_connection
        conn.rollback()
        conn.autocommit = True
        cur = conn.cursor()
        cur.execute("SELECT current_schema(), current_database()")
        schema, database = cur.fetchone()
        if schema is None:
            raise CatalogueError("the connection has no current schema (check search_path)")

        def q(ident: str) -> str:
            return '"' + str(ident).replace('"', '""') + '"'

        def run(sql: str, params=None, *, optional: bool = False, retries: int = 5) -> None:
            for attempt in range(retries):
                try:
                    cur.execute(sql, params)
                    return
                except Exception as err:  # noqa: BLE001
                    state = getattr(getattr(err, "diag", None), "sqlstate", None) or getattr(err, "sqlstate", None)
                    if state in ("42710", "23505") and sql.startswith("CREATE ROLE"):
                        return  # created concurrently by another process
                    if state in ("XX000", "40001", "40P01") and attempt + 1 < retries:
                        time.sleep(0.05 * (attempt + 1))  # "tuple concurrently updated": retry
                        continue
                    if optional:
                        return
                    raise CatalogueError(f"cannot set up the read-only role {role}: {_one_line(str(err).splitlines()[0], 200)}") from None

        attrs = "NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT CONNECTION LIMIT 64"
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
        if cur.fetchone() is None:
            run(f"CREATE ROLE {q(role)} LOGIN {attrs}")
        run(f"ALTER ROLE {q(role)} LOGIN {attrs}")
        if password is not None:
            cur.execute("SELECT format('ALTER ROLE %%I PASSWORD %%L', %s::text, %s::text)", (role, password))
            run(cur.fetchone()[0])
        for g in _PG_DANGEROUS_ROLES + ("pg_read_all_data", "pg_write_all_data"):
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (g,))
            if cur.fetchone() is not None:
                run(f"REVOKE {q(g)} FROM {q(role)}", optional=True)
        for setting, value in (("default_transaction_read_only", "on"), ("statement_timeout", f"{int(MAX_TIMEOUT_S)}s"),
                               ("idle_in_transaction_session_timeout", "60s"), ("work_mem", PG_WORK_MEM),
                               ("temp_file_limit", PG_TEMP_FILE_LIMIT)):
            run(f"ALTER ROLE {q(role)} SET {setting} = '{value}'", optional=True)
        run(f"GRANT CONNECT ON DATABASE {q(database)} TO {q(role)}")
        run(f"GRANT USAGE ON SCHEMA {q(schema)} TO {q(role)}")
        run(f"GRANT SELECT ON ALL TABLES IN SCHEMA {q(schema)} TO {q(role)}")
        run(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {q(schema)} GRANT SELECT ON TABLES TO {q(role)}", optional=True)
        cur.close()
    finally:
        raw.close()
        if own:
            engine.dispose()
    read_url = engine.url.set(username=role, password=None).render_as_string(hide_password=True)
    return {"role": role, "schema": schema, "database": database, "login": True, "read_url": read_url}


def resolve_read_url(read_db: str | None = None) -> str | None:
    """``read_db``, else ``$GRAPHEXP_READ_DB``, else ``None`` (use the catalogue URL with SET ROLE)."""
    return read_db or os.environ.get("GRAPHEXP_READ_DB") or None


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
