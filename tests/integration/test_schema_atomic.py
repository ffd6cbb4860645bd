"""Schema creation is atomic and a partial schema of our own is repaired (issue 13.2, issue 9).

* A process creating the schema is killed (SIGKILL) at random points; the next command succeeds
  and the catalogue is at head with nothing missing (SQLite and PostgreSQL).
* A failure injected after the k-th DDL statement leaves no table behind (one transaction).
* A partial schema left by an older, non-atomic version (some tables, no stamp) is finished by the
  next command, without a manual ``graphexp db upgrade``.
* Concurrent first commands on one new catalogue create it once, all succeed.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, event, inspect
from typer.testing import CliRunner

from graphexp_db.catalogue.engine import dispose_engine, get_engine
from graphexp_db.catalogue.migrate import check_schema, create_schema, current_revision, ensure_schema, head_revision
from graphexp_db.catalogue.models import VIEWS, Base
from graphexp_db.cli import app

REPO = Path(__file__).resolve().parents[2]

# The child imports everything, says "ready", then creates the schema with a 4 ms pause after each
# statement, so that a kill lands inside the creation rather than during the imports.
CHILD = textwrap.dedent("""
    import sys, time
    from sqlalchemy import Engine, event
    from graphexp_db.catalogue.engine import get_engine
    from graphexp_db.catalogue.migrate import ensure_schema
    event.listen(Engine, "after_cursor_execute", lambda *a, **k: time.sleep(0.004))
    engine = get_engine(sys.argv[1])
    print("ready", flush=True)
    ensure_schema(engine)
    print("done", flush=True)
""")


@pytest.fixture(params=["sqlite_url", "pg_url"])
def url(request):
    return request.getfixturevalue(request.param)


def _at_head_and_complete(engine) -> None:
    check_schema(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    assert set(inspect(engine).get_view_names()) == set(VIEWS)


def _drop_everything(engine) -> None:
    with engine.begin() as conn:
        for name in VIEWS:
            conn.exec_driver_sql(f"DROP VIEW IF EXISTS {name}")
    Base.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")


def test_kill_during_schema_creation_then_next_command_succeeds(url):
    rng = random.Random(13)
    engine = get_engine(url)
    outcomes = {"killed": 0, "finished": 0}
    for _ in range(4):
        _drop_everything(engine)
        dispose_engine(url)
        child = subprocess.Popen([sys.executable, "-c", CHILD, url], cwd=REPO, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.4))
        child.send_signal(signal.SIGKILL)
        out, _ = child.communicate(timeout=60)
        outcomes["finished" if "done" in out else "killed"] += 1
        # all or nothing: no table without the stamp, no stamp without every table
        dispose_engine(url)
        probe = get_engine(url)
        present = set(inspect(probe).get_table_names()) & set(Base.metadata.tables)
        rev = current_revision(probe)
        assert (not present and rev is None) or (rev == head_revision() and present == set(Base.metadata.tables)), (present, rev)
        # the next command, whatever state the kill left: succeeds and leaves a full schema
        res = CliRunner().invoke(app, ["expand", "--quantity", "gue", "--order", "2", "--db", url, "--json"])
        assert res.exit_code == 0, res.output
        _at_head_and_complete(get_engine(url))
    assert outcomes["killed"] >= 2, outcomes  # most kills land inside the creation (about 0.5 s with the pauses)


class _Boom(RuntimeError):
    pass


@pytest.mark.parametrize("k", [1, 5, 17, 40, 80])
def test_failure_after_k_statements_leaves_nothing(sqlite_url, k):
    engine = get_engine(sqlite_url)
    seen = {"n": 0}

    def count(*args, **kwargs):
        seen["n"] += 1
        if seen["n"] == k:
            raise _Boom(f"injected failure after {k} statements")

    event.listen(Engine, "after_cursor_execute", count)
    try:
        with pytest.raises(_Boom):
            create_schema(engine)
    finally:
        event.remove(Engine, "after_cursor_execute", count)
    assert not set(inspect(engine).get_table_names()) & set(Base.metadata.tables)
    assert current_revision(engine) is None
    ensure_schema(engine)
    _at_head_and_complete(engine)


def test_partial_schema_of_our_own_is_finished_by_the_next_command(url):
    engine = get_engine(url)
    for name in ("provenance", "architecture", "operator_graph", "pairing"):  # an older, non-atomic creation
        Base.metadata.tables[name].create(engine)                            # killed midway: no views, no stamp
    res = CliRunner().invoke(app, ["expand", "--quantity", "trace", "--p", "1", "--order", "2", "--db", url, "--json"])
    assert res.exit_code == 0, res.output
    _at_head_and_complete(engine)
    assert current_revision(engine) == head_revision()


def test_foreign_tables_are_not_taken_for_a_partial_schema(sqlite_url):
    engine = get_engine(sqlite_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE operator_graph (id INTEGER PRIMARY KEY, label TEXT)")
    res = CliRunner().invoke(app, ["db", "upgrade", "--db", sqlite_url])
    assert res.exit_code == 2 and "differ from the models" in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_concurrent_first_commands_create_the_schema_once(url):
    procs = [subprocess.Popen([sys.executable, "-m", "graphexp_db.cli", "db", "upgrade", "--db", url], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    _at_head_and_complete(get_engine(url))
