"""The read-only SQL console: hostile inputs are refused or fail harmlessly, on SQLite and PostgreSQL.

After all of them the catalogue checksum (sha256 of a full dump of every table) is unchanged.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_app_catalogue import build_scratch_catalogue, catalogue_checksum, pg_reason, pg_scratch_schema  # noqa: E402

from graphexp_db.catalogue.query import ReadOnlyError, check_readonly, run_readonly  # noqa: E402

# Every one of these must raise ReadOnlyError (refused before running, or failing on the read-only
# connection) and leave the catalogue unchanged.
HOSTILE = [
    "DROP TABLE operator_graph",
    "DROP VIEW IF EXISTS genus_distribution",
    "DELETE FROM operator_graph",
    "DELETE FROM pairing WHERE 1=1",
    "UPDATE operator_graph SET label = 'x'",
    "INSERT INTO provenance (method) VALUES ('evil')",
    "INSERT INTO provenance SELECT * FROM provenance",
    "REPLACE INTO provenance (id, method) VALUES (1, 'evil')",
    "CREATE TABLE evil (x INTEGER)",
    "CREATE TEMP TABLE evil AS SELECT * FROM operator_graph",
    "CREATE VIEW evil AS SELECT 1",
    "CREATE INDEX evil ON operator_graph(label)",
    "CREATE TRIGGER evil AFTER INSERT ON provenance BEGIN DELETE FROM operator_graph; END",
    "ALTER TABLE operator_graph ADD COLUMN evil INTEGER",
    "ALTER TABLE operator_graph RENAME TO og",
    "ATTACH DATABASE '/tmp/evil.sqlite' AS evil",
    "DETACH DATABASE main",
    "PRAGMA query_only = OFF",
    "PRAGMA writable_schema = ON",
    "PRAGMA journal_mode = DELETE",
    "PRAGMA table_info(operator_graph)",
    "VACUUM",
    "VACUUM INTO '/tmp/evil-copy.sqlite'",
    "REINDEX",
    "ANALYZE",
    "BEGIN; DELETE FROM operator_graph; COMMIT",
    "SELECT 1; DROP TABLE operator_graph",
    "SELECT 1; SELECT 2",
    "WITH d AS (DELETE FROM operator_graph RETURNING *) SELECT * FROM d",
    "WITH u AS (UPDATE pairing SET rank = '0' RETURNING id) SELECT count(*) FROM u",
    "SELECT * INTO evil FROM operator_graph",
    "SELECT load_extension('/tmp/evil.so')",
    "SELECT \"load_extension\"('/tmp/evil.so', 'init')",
    "SELECT writefile('/tmp/evil.txt', 'x')",
    "SELECT readfile('/etc/passwd')",
    "SELECT * FROM pragma_table_info('operator_graph')",
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT pg_catalog.pg_read_file('/etc/passwd')",
    "SELECT lo_import('/etc/passwd')",
    "SELECT set_config('default_transaction_read_only', 'off', false)",
    "SELECT nextval('operator_graph_id_seq')",
    "SELECT query_to_xml('DELETE FROM operator_graph', true, true, '')",
    "SELECT pg_terminate_backend(1)",
    "SELECT * FROM operator_graph FOR UPDATE",
    "COPY operator_graph TO '/tmp/evil.csv'",
    "SET default_transaction_read_only = off",
    "GRANT ALL ON operator_graph TO public",
    "TRUNCATE operator_graph",
    "COMMIT",
    "EXPLAIN ANALYZE DELETE FROM operator_graph",
    "EXPLAIN DELETE FROM operator_graph",
    "SELECT 1; -- trailing comment\nDELETE FROM operator_graph",
    "SELEC * FROM operator_graph",
    "SELECT * FROM (",
    "",
    "   ;  ; ",
    "/* only a comment */",
    "SELECT 1\x00; DROP TABLE operator_graph",
    "DO $$ BEGIN DELETE FROM operator_graph; END $$",
    "CALL evil()",
    "MERGE INTO provenance p USING provenance q ON p.id = q.id WHEN MATCHED THEN DELETE",
    "LOCK TABLE operator_graph",
    "NOTIFY evil",
    "SELECT * FROM no_such_table",
]

# Harmless but legitimate queries: these must succeed.
BENIGN = [
    "SELECT COUNT(*) FROM operator_graph",
    "SELECT label FROM operator_graph WHERE label LIKE '%gue%' ORDER BY label;",
    "WITH g AS (SELECT quantity, COUNT(*) AS n FROM operator_graph GROUP BY quantity) SELECT * FROM g ORDER BY n",
    "SELECT 1 AS a UNION ALL SELECT 2",
    "VALUES (1, 'a'), (2, 'b')",
    "SELECT e.genus, COUNT(*) FROM embedding e JOIN pairing p ON p.id = e.pairing_id GROUP BY e.genus -- drop table x",
    "SELECT 'DROP TABLE operator_graph; load_extension(x)' AS harmless_text",
    "SELECT label FROM operator_graph WHERE label = 'x' OR 1=1; -- a trailing comment",
]


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory):
    path = tmp_path_factory.mktemp("q") / "catalogue.sqlite"
    url = f"sqlite:///{path}"
    build_scratch_catalogue(url)
    return url


def test_at_least_30_hostile_inputs():
    assert len(HOSTILE) >= 30 and len(set(HOSTILE)) == len(HOSTILE)


def _hammer(url: str) -> list[str]:
    """Run every hostile input; return those that did not raise ReadOnlyError."""
    leaked = []
    for sql in HOSTILE:
        try:
            run_readonly(url, sql, row_cap=5, timeout_s=2.0)
        except ReadOnlyError as err:
            msg = str(err)
            assert "\n" not in msg and msg, (sql, msg)
        else:
            leaked.append(sql)
    return leaked


def test_hostile_sqlite_refused_and_checksum_unchanged(sqlite_url, tmp_path):
    before = catalogue_checksum(sqlite_url)
    leaked = _hammer(sqlite_url)
    assert leaked == []
    assert catalogue_checksum(sqlite_url) == before
    assert not Path("/tmp/evil.sqlite").exists() or Path("/tmp/evil.sqlite").stat().st_size == 0
    for sql in BENIGN:
        res = run_readonly(sqlite_url, sql)
        assert res.columns
    assert catalogue_checksum(sqlite_url) == before


def test_readonly_connection_alone_blocks_writes(sqlite_url):
    """Layer (b) on its own: with the parser bypassed, SQLite still refuses to write."""
    from sqlalchemy.engine import make_url

    from graphexp_db.catalogue import query as q

    before = catalogue_checksum(sqlite_url)
    for sql in ("DELETE FROM operator_graph", "DROP TABLE pairing", "PRAGMA query_only=OFF", "ATTACH '/tmp/evil2.sqlite' AS e"):
        with pytest.raises(ReadOnlyError):
            q._run_sqlite(make_url(sqlite_url), sql, 5, 2.0, _check=False)
    assert catalogue_checksum(sqlite_url) == before


def test_row_cap(sqlite_url):
    res = run_readonly(sqlite_url, "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 500) SELECT i FROM r", row_cap=100)
    assert len(res.rows) == 100 and res.truncated
    res = run_readonly(sqlite_url, "SELECT 1", row_cap=100)
    assert res.rows == [(1,)] and not res.truncated
    with pytest.raises(ReadOnlyError):
        run_readonly(sqlite_url, "SELECT 1", row_cap=0)


def test_timeout_cuts_runaway_query(sqlite_url):
    t0 = time.perf_counter()
    with pytest.raises(ReadOnlyError, match="time limit"):
        run_readonly(sqlite_url, "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT COUNT(*) FROM r", timeout_s=0.5)
    assert time.perf_counter() - t0 < 5


def test_check_readonly_accepts_explain():
    assert check_readonly("EXPLAIN QUERY PLAN SELECT * FROM operator_graph;") == "EXPLAIN QUERY PLAN SELECT * FROM operator_graph"
    assert check_readonly("explain select 1", "postgres") == "explain select 1"


def test_missing_catalogue_is_one_line(tmp_path):
    with pytest.raises(ReadOnlyError, match="no catalogue"):
        run_readonly(f"sqlite:///{tmp_path / 'nope.sqlite'}", "SELECT 1")
    assert not (tmp_path / "nope.sqlite").exists()


# --------------------------------------------------------------------------- CLI
def _cli():
    """The query command alone in a typer app (the full CLI is tested elsewhere)."""
    import typer

    from graphexp_db.cli import query as qmod

    app = typer.Typer()
    qmod.register(app)

    @app.command("noop")
    def _noop() -> None:  # a second command keeps typer in group mode ("query" as a sub-command)
        pass

    return app


def test_cli_query_table_json_csv(sqlite_url, tmp_path):
    import json

    from typer.testing import CliRunner

    runner = CliRunner()
    app = _cli()
    r = runner.invoke(app, ["query", "SELECT label FROM operator_graph ORDER BY label", "--db", sqlite_url, "--limit", "2"])
    assert r.exit_code == 0, r.output
    assert "label" in r.stdout
    r = runner.invoke(app, ["query", "SELECT label FROM operator_graph ORDER BY label", "--db", sqlite_url, "--json"])
    doc = json.loads(r.stdout)
    assert doc["columns"] == ["label"] and len(doc["rows"]) > 2
    out = tmp_path / "out.csv"
    r = runner.invoke(app, ["query", "SELECT label FROM operator_graph", "--db", sqlite_url, "--csv", str(out)])
    assert r.exit_code == 0 and out.read_text().startswith("label\n")


def test_cli_refusal_exit_2_one_line(sqlite_url, tmp_path):
    from typer.testing import CliRunner

    before = catalogue_checksum(sqlite_url)
    out = tmp_path / "never.csv"
    r = CliRunner().invoke(_cli(), ["query", "DELETE FROM operator_graph", "--db", sqlite_url, "--csv", str(out)])
    assert r.exit_code == 2
    assert r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("error: refused")
    assert not out.exists()
    assert catalogue_checksum(sqlite_url) == before


def test_full_cli_registers_query_and_serve():
    from typer.testing import CliRunner

    from graphexp_db.cli import app

    r = CliRunner().invoke(app, ["--help"])
    assert r.exit_code == 0
    assert "query" in r.stdout and "serve" in r.stdout


# --------------------------------------------------------------------------- PostgreSQL
@pytest.fixture(scope="module")
def pg_url():
    reason = pg_reason()
    if reason:
        pytest.skip(reason)
    from graphexp_db.catalogue.readonly import ensure_reader_role

    with pg_scratch_schema() as (url, _):
        ensure_reader_role(url)
        yield url


@pytest.mark.postgres
def test_hostile_postgres_refused_and_checksum_unchanged(pg_url):
    before = catalogue_checksum(pg_url)
    assert _hammer(pg_url) == []
    assert catalogue_checksum(pg_url) == before
    for sql in BENIGN:
        assert run_readonly(pg_url, sql).columns
    assert catalogue_checksum(pg_url) == before


@pytest.mark.postgres
def test_postgres_readonly_transaction_alone_blocks_writes(pg_url):
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from graphexp_db.catalogue import query as q

    before = catalogue_checksum(pg_url)
    eng = create_engine(pg_url, poolclass=NullPool)
    for sql in ("DELETE FROM operator_graph", "CREATE TABLE evil (x int)", "SELECT set_config('transaction_read_only', 'off', true)"):
        with pytest.raises(ReadOnlyError):
            q._run_postgres(eng, sql + ("; DELETE FROM operator_graph" if "set_config" in sql else ""), 5, 2.0, _check=False)
    eng.dispose()
    assert catalogue_checksum(pg_url) == before


@pytest.mark.postgres
def test_postgres_row_cap_and_timeout(pg_url):
    res = run_readonly(pg_url, "SELECT g FROM generate_series(1, 500) AS g", row_cap=50)
    assert len(res.rows) == 50 and res.truncated
    t0 = time.perf_counter()
    with pytest.raises(ReadOnlyError, match="time limit"):
        run_readonly(pg_url, "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT COUNT(*) FROM r", timeout_s=0.5)
    assert time.perf_counter() - t0 < 5
