"""Every database failure path is one line on stderr, exit code 2, a hint of what to do, and no new
file (issue 9): bad or unknown URL schemes, missing drivers, unreachable or unknown servers,
databases and roles, corrupt / truncated / non-SQLite files, a directory, read-only files and file
systems, a full disk during a fill, an unknown schema revision, missing columns at head.
Also: a resumed fill finalises its own provenance row (issue 9, provenance of resumed fills).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from graphexp_db.catalogue import models as m
from graphexp_db.catalogue.engine import dispose_engine, get_engine
from graphexp_db.catalogue.fill import fill_expansion
from graphexp_db.catalogue.migrate import ensure_schema, head_revision
from graphexp_db.cli import app

ASSET = Path(__file__).parent / "assets" / "catalogue_rev0001.sqlite"
COMMANDS = {
    "expand": ["expand", "--quantity", "gue", "--order", "2", "--json"],
    "upgrade": ["db", "upgrade"],
    "current": ["db", "current"],
}


def _snapshot(folder: Path) -> dict[str, str]:
    # the -shm file is SQLite's shared-memory index of an open WAL catalogue: readers touch it
    return {str(p.relative_to(folder)): ("dir" if not p.is_file() else "shm" if p.name.endswith("-shm")
                                         else hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(folder.rglob("*"))}


def _run_one_line(args: list[str], folder: Path, hint: str) -> str:
    before = _snapshot(folder)
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2, (args, res.output)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.output
    assert "Traceback" not in res.output and hint in lines[0], lines[0]
    assert _snapshot(folder) == before, "a failing command must not create or change files"
    return lines[0]


# (name, url maker, expected hint); files are made in the test's folder
def _corrupt(d: Path) -> str:
    (d / "c.sqlite").write_bytes(bytes(range(256)) * 20)
    return f"sqlite:///{d / 'c.sqlite'}"


def _truncated(d: Path) -> str:
    (d / "c.sqlite").write_bytes(ASSET.read_bytes()[:3000])
    return f"sqlite:///{d / 'c.sqlite'}"


def _text_file(d: Path) -> str:
    (d / "notes.txt").write_text("not a database\n" * 100)
    return f"sqlite:///{d / 'notes.txt'}"


def _directory(d: Path) -> str:
    (d / "adir").mkdir()
    return f"sqlite:///{d / 'adir'}"


def _read_only_uri(d: Path) -> str:
    shutil.copy(ASSET, d / "c.sqlite")
    return f"sqlite:///file:{d / 'c.sqlite'}?mode=ro&uri=true"


CASES = [
    ("bad-scheme", lambda d: "nosuchdb://user@host/db", "bad database URL"),
    ("not-a-url", lambda d: "not a url at all", "bad database URL"),
    ("driver-not-installed", lambda d: "mysql://user@127.0.0.1/db", "driver for 'mysql' is not installed"),
    ("refused-port", lambda d: "postgresql://postgres@127.0.0.1:1/test", "connection refused at 127.0.0.1:1"),
    ("unknown-host", lambda d: "postgresql://postgres@no-such-host.invalid/test", "unknown host"),
    ("corrupt-file", _corrupt, "is not a SQLite catalogue"),
    ("truncated-file", _truncated, "corrupt"),
    ("non-sqlite-file", _text_file, "is not a SQLite catalogue"),
    ("directory", _directory, "is a directory"),
    ("read-only-file", _read_only_uri, "read-only"),
]


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("name,make,hint", CASES, ids=[c[0] for c in CASES])
def test_bad_catalogue_is_one_line_exit_2(tmp_path, monkeypatch, command, name, make, hint):
    monkeypatch.chdir(tmp_path)
    url = make(tmp_path)
    _run_one_line([*COMMANDS[command], "--db", url], tmp_path, hint)


@pytest.mark.parametrize("what,url,hint", [
    ("unknown-database", "postgresql://postgres@127.0.0.1:5432/graphexp_no_such_db", 'database "graphexp_no_such_db" does not exist'),
    ("unknown-role", "postgresql://graphexp_no_such_role@127.0.0.1:5432/test", 'role "graphexp_no_such_role" does not exist'),
])
def test_unknown_postgres_database_or_role(tmp_path, monkeypatch, what, url, hint):
    from conftest import _pg_admin

    _pg_admin().close()  # skips with a reason when the server is down
    monkeypatch.chdir(tmp_path)
    _run_one_line([*COMMANDS["expand"], "--db", url], tmp_path, hint)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a read-only file system needs root")
def test_read_only_file_system(tmp_path):
    import subprocess

    ro = tmp_path / "ro"
    ro.mkdir()
    shutil.copy(ASSET, ro / "c.sqlite")
    if subprocess.run(["mount", "-o", "bind,ro", str(ro), str(ro)], capture_output=True).returncode:
        pytest.skip("mount is not permitted here")
    try:
        for db in ("c.sqlite", "new.sqlite"):
            _run_one_line([*COMMANDS["expand"], "--db", f"sqlite:///{ro / db}"], tmp_path, "read-only")
    finally:
        subprocess.run(["umount", str(ro)], check=True)


def test_disk_full_during_a_fill(tmp_path, monkeypatch):
    """SQLite's max_page_count makes the file 'full' (SQLITE_FULL, as a full disk): one line, and
    the graphs committed before it stay; a re-run with room finishes the work."""
    from graphexp_db.catalogue import engine as engine_mod

    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    ensure_schema(get_engine(url))
    dispose_engine(url)
    pages = os.path.getsize(tmp_path / "c.sqlite") // 4096 + 6
    original = engine_mod._setup_sqlite

    def tiny_disk(dbapi_connection, record):
        original(dbapi_connection, record)
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    monkeypatch.setattr(engine_mod, "_setup_sqlite", tiny_disk)
    res = CliRunner().invoke(app, ["expand", "--quantity", "gue", "--order", "5", "--budget", "1000", "--db", url])
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "disk full while writing" in lines[0] and "run the command again" in lines[0]
    dispose_engine(url)
    monkeypatch.setattr(engine_mod, "_setup_sqlite", original)
    res = CliRunner().invoke(app, ["expand", "--quantity", "gue", "--order", "5", "--budget", "1000", "--db", url, "--json"])
    assert res.exit_code == 0, res.output
    with Session(get_engine(url)) as s:
        assert s.scalar(select(m.Expansion.status)) == "complete"
    dispose_engine(url)


def test_unknown_revision_and_missing_columns(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    engine = get_engine(url)
    ensure_schema(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999future'"))
    for command in sorted(COMMANDS):
        if command != "current":  # db current reports the revision and exits 1 (documented)
            _run_one_line([*COMMANDS[command], "--db", url], tmp_path, "unknown to this graphexp-db")
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE alembic_version SET version_num = '{head_revision()}'"))
        conn.execute(text("ALTER TABLE evaluated_contribution DROP COLUMN contribution_json"))
    _run_one_line([*COMMANDS["expand"], "--db", url], tmp_path, "lacks evaluated_contribution.contribution_json")
    dispose_engine(url)


def test_resumed_fill_finalises_its_own_provenance(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    engine = get_engine(url)
    ensure_schema(engine)

    class Killed(Exception):
        pass

    def die(done, total):
        raise Killed

    with pytest.raises(Killed):
        fill_expansion(engine, "mlp:L=1", "covariance", 2, progress=die)
    with Session(engine) as s:
        killed = s.execute(select(m.Expansion.status, m.Expansion.provenance_id)).one()
    assert killed.status == "running"
    fill_expansion(engine, "mlp:L=1", "covariance", 2)  # the resume
    with Session(engine) as s:
        status, prov_id, finished, method = s.execute(
            select(m.Expansion.status, m.Expansion.provenance_id, m.Provenance.finished_at, m.Provenance.method)
            .join(m.Provenance, m.Provenance.id == m.Expansion.provenance_id)).one()
        unfinished = s.scalars(select(m.Provenance.id).where(m.Provenance.finished_at.is_(None),
                                                             m.Provenance.method == "graph-expansion")).all()
    assert status == "complete" and finished is not None and method == "graph-expansion"
    assert prov_id != killed.provenance_id and unfinished == [killed.provenance_id]  # the killed run stays unfinished
    dispose_engine(url)


def test_disk_full_while_storing_moments(tmp_path, monkeypatch):
    """The limit and simulation stores (session_scope) give the same one line on a full disk."""
    from graphexp_db.catalogue import engine as engine_mod

    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    ensure_schema(get_engine(url))
    dispose_engine(url)
    pages = os.path.getsize(tmp_path / "c.sqlite") // 4096
    original = engine_mod._setup_sqlite

    def full_disk(dbapi_connection, record):
        original(dbapi_connection, record)
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    monkeypatch.setattr(engine_mod, "_setup_sqlite", full_disk)
    res = CliRunner().invoke(app, ["moments", "jacobian", "--arch", "mlp:L=1", "--activation", "relu", "--kmax", "150",
                                   "--store", "--db", url])
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "disk full while writing" in lines[0], lines
    dispose_engine(url)
