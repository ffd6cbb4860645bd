"""Layers 2 and 3 of the read-only console on PostgreSQL: a ``READ ONLY`` transaction as the
read-only role :data:`READ_ROLE`, server-side budgets, and :func:`ensure_reader_role`."""

from __future__ import annotations

import re
import time
from typing import Any

from ..errors import CatalogueError, ReadOnlyError
from .sql_allowlist import _EXPLAIN, _one_line, check_readonly
from .sql_caps import MAX_RESULT_BYTES, MAX_TIMEOUT_S, MAX_VALUE_BYTES, PG_TEMP_FILE_LIMIT, PG_WORK_MEM, READ_ROLE, _collect


class _ConnectError(ReadOnlyError):
    """The connection itself failed (the caller may try another login)."""


# Roles whose rights reach outside the catalogue: a connection holding any of them is refused.
_PG_DANGEROUS_ROLES = ("pg_read_server_files", "pg_write_server_files", "pg_execute_server_program", "pg_signal_backend")


def _pg_error(err: Exception, timeout_s: float) -> ReadOnlyError:
    """The one-line console error for a psycopg error raised while a query ran."""
    msg = str(err)
    sqlstate = getattr(err, "sqlstate", None) or getattr(getattr(err, "diag", None), "sqlstate", None)
    if sqlstate == "57014" or "statement timeout" in msg:
        return ReadOnlyError(f"query cut at the time limit of {timeout_s:g} s")
    if sqlstate == "25006" or "read-only transaction" in msg:
        return ReadOnlyError("refused: cannot write in a read-only transaction")
    if "graphexp-row-cap" in msg:
        return ReadOnlyError(f"query cut: a row is over the cap of {MAX_VALUE_BYTES // 2**20} MB")
    if sqlstate == "53400" or "temp_file_limit" in msg:
        return ReadOnlyError(f"query cut: it needs more than {PG_TEMP_FILE_LIMIT} of temporary files")
    if sqlstate in ("53200", "54000", "54001"):
        return ReadOnlyError(f"query cut: the server ran out of memory or a limit ({_one_line(msg.splitlines()[0], 120)})")
    if sqlstate == "42501":
        return ReadOnlyError(f"query failed: {_one_line(msg.splitlines()[0], 160)} (run `graphexp db reader` on this catalogue to grant the read-only role)")
    return ReadOnlyError(f"query failed: {_one_line(msg.splitlines()[0] if msg else type(err).__name__)}")


def _quietly(action) -> None:
    """Run a clean-up step whose failure changes nothing (the connection is closed right after)."""
    try:
        action()
    except Exception:  # noqa: BLE001
        pass


def _pg_begin(cur, ms: int, allow_superuser: bool, meta: dict) -> tuple[frozenset[str], frozenset[str]]:
    """Open the read-only transaction with its budgets, take the reader role; return the tables and columns it sees."""
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
    return tables, columns


def _run_postgres(engine, text: str, row_cap: int, timeout_s: float, *, allow_superuser: bool = False, max_bytes: int = MAX_RESULT_BYTES,
                  meta: dict | None = None, _check: bool = True) -> tuple[list[str], list[tuple], bool]:
    meta = {} if meta is None else meta
    ms = max(1, int(timeout_s * 1000))
    try:
        raw = engine.raw_connection()
    except Exception as err:  # noqa: BLE001 - refused port, unknown host/database/role ...
        raise _ConnectError(f"cannot connect to the catalogue: {_one_line(str(err).splitlines()[0] if str(err) else type(err).__name__, 200)}") from None
    try:
        dbapi = raw.driver_connection if hasattr(raw, "driver_connection") else raw.connection
        _quietly(dbapi.rollback)

        def manual_commit() -> None:
            dbapi.autocommit = False

        _quietly(manual_commit)
        cur = dbapi.cursor()
        named = None
        try:
            tables, known_columns = _pg_begin(cur, ms, allow_superuser, meta)
            if _check:  # (tests switch the parser off to prove the transaction layer alone)
                check_readonly(text, "postgres", tables, known_columns)
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
            raise _pg_error(err, timeout_s) from None
        finally:
            for c in (named, cur):
                if c is not None:
                    _quietly(c.close)
            _quietly(dbapi.rollback)
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


def _admin_engine(url_or_engine: Any) -> tuple[Any, bool]:
    """``(engine, own)``: the given PostgreSQL engine, or an unpooled one made from a URL (``own``: dispose it)."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import Engine, make_url
    from sqlalchemy.pool import NullPool

    not_pg = "a read-only role exists only on PostgreSQL; SQLite catalogues are opened read-only (mode=ro) by the console"
    if isinstance(url_or_engine, Engine):
        engine, own = url_or_engine, False
    else:
        u = make_url(str(url_or_engine))
        if u.drivername in ("postgresql", "postgres"):
            u = u.set(drivername="postgresql+psycopg")
        if u.get_backend_name() != "postgresql":
            raise CatalogueError(not_pg)
        engine, own = create_engine(u, poolclass=NullPool), True
    if engine.url.get_backend_name() != "postgresql":
        raise CatalogueError(not_pg)
    return engine, own


def _q(ident: str) -> str:
    return '"' + str(ident).replace('"', '""') + '"'


class _Admin:
    """Runs the role's set-up statements on an autocommit cursor, tolerant of concurrent set-ups."""

    def __init__(self, cur, role: str) -> None:
        self.cur, self.role = cur, role

    def run(self, sql: str, params=None, *, optional: bool = False, retries: int = 5) -> None:
        for attempt in range(retries):
            try:
                self.cur.execute(sql, params)
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
                raise CatalogueError(f"cannot set up the read-only role {self.role}: {_one_line(str(err).splitlines()[0], 200)}") from None

    def role_exists(self, name: str) -> bool:
        self.cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,))
        return self.cur.fetchone() is not None


def _grant_reader(admin: _Admin, role: str, password: str | None, schema: str, database: str) -> None:
    """Create or repair ``role``: no dangerous attribute or membership, capped defaults, SELECT on ``schema``."""
    run, q = admin.run, _q
    attrs = "NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT CONNECTION LIMIT 64"
    if not admin.role_exists(role):
        run(f"CREATE ROLE {q(role)} LOGIN {attrs}")
    run(f"ALTER ROLE {q(role)} LOGIN {attrs}")
    if password is not None:
        admin.cur.execute("SELECT format('ALTER ROLE %%I PASSWORD %%L', %s::text, %s::text)", (role, password))
        run(admin.cur.fetchone()[0])
    for g in _PG_DANGEROUS_ROLES + ("pg_read_all_data", "pg_write_all_data"):
        if admin.role_exists(g):
            run(f"REVOKE {q(g)} FROM {q(role)}", optional=True)
    for setting, value in (("default_transaction_read_only", "on"), ("statement_timeout", f"{int(MAX_TIMEOUT_S)}s"),
                           ("idle_in_transaction_session_timeout", "60s"), ("work_mem", PG_WORK_MEM),
                           ("temp_file_limit", PG_TEMP_FILE_LIMIT)):
        run(f"ALTER ROLE {q(role)} SET {setting} = '{value}'", optional=True)
    run(f"GRANT CONNECT ON DATABASE {q(database)} TO {q(role)}")
    run(f"GRANT USAGE ON SCHEMA {q(schema)} TO {q(role)}")
    run(f"GRANT SELECT ON ALL TABLES IN SCHEMA {q(schema)} TO {q(role)}")
    run(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {q(schema)} GRANT SELECT ON TABLES TO {q(role)}", optional=True)


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
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role or ""):
        raise CatalogueError(f"role name must be lower-case letters, digits and _ (got {role!r})")
    engine, own = _admin_engine(url_or_engine)
    try:
        raw = engine.raw_connection()
    except Exception as err:  # noqa: BLE001
        raise CatalogueError(f"cannot connect to the catalogue: {_one_line(str(err).splitlines()[0] if str(err) else type(err).__name__, 200)}") from None
    try:
        conn = raw.driver_connection
        assert conn is not None  # a fresh raw connection always has its DBAPI connection
        conn.rollback()
        conn.autocommit = True
        cur = conn.cursor()
        cur.execute("SELECT current_schema(), current_database()")
        schema, database = cur.fetchone()
        if schema is None:
            raise CatalogueError("the connection has no current schema (check search_path)")
        _grant_reader(_Admin(cur, role), role, password, schema, database)
        cur.close()
    finally:
        raw.close()
        if own:
            engine.dispose()
    read_url = engine.url.set(username=role, password=None).render_as_string(hide_password=True)
    return {"role": role, "schema": schema, "database": database, "login": True, "read_url": read_url}

