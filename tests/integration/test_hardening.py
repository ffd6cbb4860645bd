"""Hostile SQL through the real CLI, on SQLite and PostgreSQL: refused or harmless, never a side effect.

The corpus (``tests/data/hostile_sql.txt``, >= 150 statements in classes: writes, stacking,
settings, files, obfuscated names, SQL inside string literals, server state, casts, system
catalogues, malformed text, resource attacks) goes through ``graphexp query``.  For every statement:
exit code 2 with exactly one ``error: ...`` line on stderr, or (resource class only) exit 0 within
the caps.  After the whole corpus: the catalogue fingerprint is unchanged, no file appeared, and on
PostgreSQL no role, replication slot, large object, prepared transaction or advisory lock appeared
and a canary session is still alive.  The worst resource queries stay under 512 MB RSS, measured
in a child process.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from hardening_corpus import child_peak_rss_mb, dir_listing, evil_files, load_corpus, pg_snapshot, run_corpus  # noqa: E402
from test_app_catalogue import build_scratch_catalogue, catalogue_checksum, pg_reason, pg_scratch_schema  # noqa: E402

CORPUS = load_corpus()


def test_corpus_is_large_and_covers_every_class():
    classes = {c for c, _, _ in CORPUS}
    assert len(CORPUS) >= 150 and len({s for _, _, s in CORPUS}) == len(CORPUS)
    assert {"write", "stacking", "settings", "files", "obfuscated-names", "sql-in-strings", "server-state", "casts",
            "system-catalogs", "malformed", "resource"} <= classes
    # issue 13.5: the class of functions that execute or parse SQL/XML given as text is in the corpus
    text = " ".join(s.lower() for c, _, s in CORPUS if c == "sql-in-strings")
    for fn in ("query_to_xml", "ts_stat", "xpath", "xmlparse", "dblink", "cursor_to_xml", "table_to_xml"):
        assert fn in text


@pytest.fixture(scope="module")
def sqlite_catalogue(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    url = f"sqlite:///{d / 'catalogue.sqlite'}"
    build_scratch_catalogue(url)
    return d, url


def test_hostile_corpus_sqlite(sqlite_catalogue):
    d, url = sqlite_catalogue
    before, files, evil = catalogue_checksum(url), dir_listing(d), evil_files()
    stats = run_corpus(url, timeout_s=0.25)
    print(stats.line("sqlite"))
    assert stats.failures == [] and stats.tracebacks == 0
    assert stats.tried == len(CORPUS) and stats.refused + stats.harmless == stats.tried
    assert stats.refused >= len([1 for _, e, _ in CORPUS if e == "refuse"])
    assert catalogue_checksum(url) == before
    assert dir_listing(d) == files and evil_files() == evil


def test_worst_sqlite_queries_stay_under_512_mb(sqlite_catalogue):
    _, url = sqlite_catalogue
    worst = [
        "SELECT * FROM pairing a, pairing b, pairing c ORDER BY a.blocks_json || b.blocks_json || c.blocks_json",
        "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 50000000) SELECT i FROM r ORDER BY i DESC",
        "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 100000000) SELECT group_concat(i) FROM r",
    ]
    code = ("from graphexp_db.catalogue.readonly import run_readonly, ReadOnlyError\n"
            f"for sql in {worst!r}:\n"
            f"    try:\n        run_readonly({url!r}, sql, row_cap=1000000, timeout_s=2.0)\n    except ReadOnlyError:\n        pass\n")
    rss, seconds, rc = child_peak_rss_mb(code, timeout=60)
    print(f"worst SQLite hostile queries: peak RSS {rss:.0f} MB, {seconds:.1f} s")
    assert rc == 0 and rss < 512 and seconds < 30


def test_sqlite_rows_cut_by_bytes(sqlite_catalogue):
    from graphexp_db.catalogue.readonly import run_readonly

    _, url = sqlite_catalogue
    res = run_readonly(url, "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 100000) "
                            "SELECT i, substr(replace(replace(replace('xxxxxxxxxxxxxxxx', 'x', 'xxxxxxxx'), 'x', 'xxxxxxxx'), 'x', 'xxxxxxxx'), 1, 5000) FROM r",
                       row_cap=100_000, max_bytes=1_000_000)
    assert res.truncated and res.meta["cut_by"] == "bytes" and 150 <= len(res.rows) <= 200


def test_query_caps_are_stated_in_cli_help():
    from typer.testing import CliRunner

    from graphexp_db.catalogue.readonly import query_caps
    from graphexp_db.cli import app

    r = CliRunner().invoke(app, ["query", "--help"], terminal_width=400)
    assert r.exit_code == 0
    flat = " ".join(r.stdout.split())
    assert "Caps:" in flat and "MB of working memory" in flat and "--allow-superuser" in flat
    assert query_caps()["memory_budget_mb"] == 256


@pytest.mark.parametrize("args, needle", [
    (["query", "--drop table x"], "No such option"),
    (["query", "--limit", str(10**12), "SELECT 1"], "--limit"),
    (["query", "--timeout", "3000000", "SELECT 1"], "--timeout"),
    (["query", "--timeout", "nan", "SELECT 1"], "--timeout"),
    (["serve", "--host", "192.0.2.1", "--no-schema-check"], "cannot serve"),
    (["serve", "--host", "", "--no-schema-check"], "host"),
    (["expand", "--quantity", "gue", "--order", "3", "--arch", "mlp:L=1"], "takes no architecture"),
    (["expand", "--quantity", "trace", "--order", "3", "--p", "0"], "--p"),
    (["expand", "--quantity", "trace", "--order", "2147483648"], "order"),
    (["expand", "--quantity", "covariance", "--order", "2", "--arch", "mlp:L=1,sw=1e999999999"], "exponent"),
    (["limit", "nngp", "--arch", "/dev/zero", "--activation", "relu", "--x", "1,0"], "not a regular file"),
    (["limit", "nngp", "--arch", "mlp:L=1", "--activation", "poly:1e999999999", "--x", "1,0"], "exponent"),
    (["limit", "nngp", "--arch", '{"kind":"dag","edges":[[0,1000000000]]}', "--activation", "relu", "--x", "1"], "below"),
    (["limit", "nngp", "--arch", '{"kind":"dag","edges":' + "[" * 10000 + "]" * 10000 + "}", "--activation", "relu", "--x", "1"], "nested"),
    (["simulate", "kernel", "--arch", "mlp:L=1", "--x", "1,0", "--y", "1,0,0"], "different dimensions"),
    (["--no-such-root-option"], "No such option"),
    (["limit", "nngp", "--arch", "mlp:L=1", "--activation", "relu", "--x", "1e308,1e308"], "overflowed"),  # numpy warnings dropped
    (["query", "--read-db", "mysql://x@y/z", "--db", "postgresql://postgres@127.0.0.1:1/x", "SELECT 1"], "PostgreSQL URL"),
])
def test_cli_failures_are_one_line_exit_2(args, needle, sqlite_catalogue):
    from typer.testing import CliRunner

    from graphexp_db.cli import app

    _, url = sqlite_catalogue
    r = CliRunner().invoke(app, args, env={"GRAPHEXP_DB": url})
    lines = (r.stderr or "").strip().splitlines()
    assert r.exit_code == 2, (args, r.stdout, r.stderr, r.exception)
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], lines


# --------------------------------------------------------------------------- PostgreSQL
@pytest.fixture(scope="module")
def pg_catalogue():
    reason = pg_reason()
    if reason:
        pytest.skip(reason)
    from graphexp_db.catalogue.readonly import ensure_reader_role

    with pg_scratch_schema() as (url, _):
        ensure_reader_role(url)
        yield url


@pytest.mark.postgres
def test_hostile_corpus_postgres(pg_catalogue, tmp_path):
    import psycopg

    url = pg_catalogue
    admin = psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True)
    canary = psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True)
    try:
        canary_pid = canary.info.backend_pid
        before, server, evil = catalogue_checksum(url), pg_snapshot(admin), evil_files()
        stats = run_corpus(url, timeout_s=0.25)
        print(stats.line("postgresql"))
        assert stats.failures == [] and stats.tracebacks == 0
        assert stats.tried == len(CORPUS) and stats.refused + stats.harmless == stats.tried
        assert catalogue_checksum(url) == before
        assert pg_snapshot(admin) == server
        assert evil_files() == evil
        assert canary.execute("SELECT pg_backend_pid()").fetchone()[0] == canary_pid  # still alive
    finally:
        canary.close()
        admin.close()


@pytest.mark.postgres
def test_postgres_refuses_superuser_without_reader_role_access(pg_catalogue):
    from graphexp_db.catalogue.readonly import ReadOnlyError, run_readonly

    # The reader role exists, so a superuser connection runs as it ...
    res = run_readonly(pg_catalogue, "SELECT COUNT(*) FROM operator_graph")
    assert res.rows[0][0] > 0 and res.meta["role"] == "graphexp_reader"
    # A role that cannot become the reader role but holds a dangerous right is refused with one line.
    import uuid

    import psycopg

    name = f"gx_signal_{uuid.uuid4().hex[:8]}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {name} LOGIN IN ROLE pg_signal_backend")
        try:
            read_url = f"postgresql://{name}@127.0.0.1:5432/test"
            with pytest.raises(ReadOnlyError, match="pg_signal_backend") as err:
                run_readonly(pg_catalogue, "SELECT 1", read_url=read_url)
            assert "\n" not in str(err.value) and "--allow-superuser" in str(err.value)
            assert run_readonly(pg_catalogue, "SELECT 1", read_url=read_url, allow_superuser=True).rows == [(1,)]
        finally:
            admin.execute(f"DROP ROLE {name}")
    # ... and the role cannot read what it was not granted, even through allowlisted syntax
    with pytest.raises(ReadOnlyError):
        run_readonly(pg_catalogue, "SELECT * FROM pg_authid")


@pytest.mark.postgres
def test_reader_role_has_no_dangerous_rights(pg_catalogue):
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as admin:
        row = admin.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolcanlogin, "
            "pg_has_role('graphexp_reader', 'pg_read_server_files', 'MEMBER'), pg_has_role('graphexp_reader', 'pg_signal_backend', 'MEMBER'), "
            "pg_has_role('graphexp_reader', 'pg_write_server_files', 'MEMBER'), pg_has_role('graphexp_reader', 'pg_execute_server_program', 'MEMBER') "
            "FROM pg_roles WHERE rolname = 'graphexp_reader'").fetchone()
        assert row == (False,) * 5 + (True,) + (False,) * 4  # may log in (read-only), nothing else
        schema = pg_catalogue.split("search_path%3D")[-1] if "search_path%3D" in pg_catalogue else None
        if schema:
            assert admin.execute("SELECT has_schema_privilege('graphexp_reader', %s, 'CREATE')", (schema,)).fetchone()[0] is False
            assert admin.execute("SELECT has_table_privilege('graphexp_reader', %s, 'INSERT')", (f'"{schema}".operator_graph',)).fetchone()[0] is False
            assert admin.execute("SELECT has_table_privilege('graphexp_reader', %s, 'SELECT')", (f'"{schema}".operator_graph',)).fetchone()[0] is True


@pytest.mark.postgres
def test_sql_in_string_functions_are_harmless_under_the_reader_role_alone(pg_catalogue):
    """Issue 13.5, second layer: with the allowlist switched off, the reader role's own login still
    cannot read or list server files, import large objects, change roles or settings, create slots
    or signal other sessions; what it can call leaves nothing behind (rolled back, connection closed)."""
    import psycopg
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    from graphexp_db.catalogue.readonly import ReadOnlyError, _run_postgres

    reader = make_url(pg_catalogue).set(username="graphexp_reader")
    eng = create_engine(reader, poolclass=NullPool)
    admin = psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True)
    canary = psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True)
    try:
        server = pg_snapshot(admin)
        pid = canary.info.backend_pid
        for sql in ("SELECT query_to_xml('SELECT pg_read_file(''/etc/hostname'')', true, true, '')",
                    "SELECT * FROM ts_stat('SELECT to_tsvector(pg_read_file(''/etc/hostname''))')",
                    "SELECT query_to_xml('SELECT * FROM pg_ls_dir(''.'')', true, true, '')",
                    "SELECT pg_read_file('/etc/hostname')", "SELECT pg_ls_dir('.')", "SELECT pg_stat_file('/etc/hostname')",
                    "SELECT lo_import('/etc/hostname')", "SELECT pg_reload_conf()",
                    "SELECT set_config('role', 'postgres', true)", "SELECT current_setting('data_directory')",
                    "SELECT pg_create_logical_replication_slot('evil', 'test_decoding')",
                    "SELECT * FROM pg_authid", f"SELECT CASE WHEN pg_terminate_backend({pid}) THEN 1 ELSE 1/0 END"):
            with pytest.raises(ReadOnlyError):
                _run_postgres(eng, sql, 5, 2.0, _check=False)
        for sql in ("SELECT lo_create(0)", "SELECT pg_advisory_lock(7)", "SELECT pg_notify('evil', 'x')", "SELECT txid_current()"):
            _run_postgres(eng, sql, 5, 2.0, _check=False)  # runs, but inside a rolled-back read-only transaction
        assert pg_snapshot(admin) == server
        assert canary.execute("SELECT pg_backend_pid()").fetchone()[0] == pid
    finally:
        eng.dispose()
        canary.close()
        admin.close()
