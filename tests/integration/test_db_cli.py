"""``graphexp db upgrade`` / ``graphexp db current`` through typer's CliRunner."""

from __future__ import annotations

import json

from sqlalchemy import text
from typer.testing import CliRunner

from graphexp_db.catalogue.engine import get_engine
from graphexp_db.catalogue.migrate import head_revision
from graphexp_db.cli import app

runner = CliRunner()


def test_db_upgrade_creates_the_catalogue(sqlite_url):
    r = runner.invoke(app, ["db", "upgrade", "--db", sqlite_url])
    assert r.exit_code == 0, r.output
    assert f"revision {head_revision()}" in r.output
    with get_engine(sqlite_url).connect() as c:
        assert c.execute(text("SELECT COUNT(*) FROM operator_graph")).scalar() == 0
    r = runner.invoke(app, ["db", "upgrade", "--db", sqlite_url, "--json"])  # again: a no-op
    assert r.exit_code == 0 and json.loads(r.stdout)["revision"] == head_revision()
    r = runner.invoke(app, ["db", "current", "--db", sqlite_url, "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout) == {
        "url": sqlite_url, "revision": head_revision(), "head": head_revision(), "up_to_date": True}


def test_db_upgrade_reads_the_environment(sqlite_url, monkeypatch):
    monkeypatch.setenv("GRAPHEXP_DB", sqlite_url)
    r = runner.invoke(app, ["db", "upgrade"])
    assert r.exit_code == 0 and sqlite_url in r.output


def test_db_current_on_an_empty_database(sqlite_url):
    r = runner.invoke(app, ["db", "current", "--db", sqlite_url])
    assert r.exit_code == 1 and "out of date" in r.output and "graphexp db upgrade" in r.output


def test_db_upgrade_bad_url_is_one_line_exit_2():
    r = runner.invoke(app, ["db", "upgrade", "--db", "nosuchdialect://x"])
    assert r.exit_code == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: cannot upgrade the catalogue")


def test_db_upgrade_on_postgres(pg_url):
    r = runner.invoke(app, ["db", "upgrade", "--db", pg_url])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["db", "current", "--db", pg_url])
    assert r.exit_code == 0 and "up to date" in r.output
