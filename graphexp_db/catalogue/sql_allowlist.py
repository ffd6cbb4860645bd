"""Layer 1 of the read-only console: the statement allowlist, checked before anything runs.

:func:`check_readonly` tokenises and parses the text with sqlglot and refuses everything that is not
exactly one allowlisted read-only query (see :mod:`graphexp_db.catalogue.readonly`).
"""

from __future__ import annotations

import logging
import re
import unicodedata

from ..errors import ReadOnlyError
from .sql_caps import MAX_QUERY_CHARS

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

