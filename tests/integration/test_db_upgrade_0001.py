"""Upgrade of a catalogue made at revision 0001 (the old layout) to head, on SQLite and PostgreSQL.

``assets/catalogue_rev0001.sqlite`` was filled by the code at revision 0001 with the expansions of
issue 13.1's reproductions, in the order that exposed the bug: real then complex Ginibre trace
words (p = 1, k = 3), the covariance of ``mlp:L=1,sw=2`` with ``poly:0,1,3`` then of ``mlp:L=1``
with ``tanh`` (order 1), GUE n = 2 and rademacher trace words (p = 1, k = 2); plus one ``job``
row.  Its shared rows carried the wrong fill's values (``ginibre-p1.tr.o3.1`` had 15 pairings with
the complex fill's 4 orbits; ``ginibre-p1.tr.o2.1`` the rademacher partition count 4).

After ``graphexp db upgrade`` no row is lost, the per-ensemble values are where they belong, and
running the same fills again gives exactly the catalogue a fresh fill gives.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Boolean, MetaData, create_engine, func, select, text
from typer.testing import CliRunner

from graphexp_db.catalogue.engine import dispose_engine, get_engine
from graphexp_db.catalogue.fill import fill_expansion
from graphexp_db.catalogue.migrate import alembic_config, current_revision, ensure_schema, head_revision
from graphexp_db.catalogue.store import logical_dump
from graphexp_db.cli import app

ASSET = Path(__file__).parent / "assets" / "catalogue_rev0001.sqlite"

FILLS = [
    dict(arch=None, quantity="trace", order=3, p=1, ensemble="gaussian"),
    dict(arch=None, quantity="trace", order=3, p=1, ensemble="complex"),
    dict(arch="mlp:L=1,sw=2", quantity="covariance", order=1, activation="poly:0,1,3"),
    dict(arch="mlp:L=1", quantity="covariance", order=1, activation="tanh"),
    dict(arch=None, quantity="gue", order=2),
    dict(arch=None, quantity="trace", order=2, p=1, ensemble="rademacher"),
]

OLD_COUNTS = {"operator_graph": 13, "pairing": 19, "embedding": 19, "pairing_aggregate": 21, "expansion": 6,
              "architecture": 2}


def _fill_all(engine) -> None:
    for spec in FILLS:
        spec = dict(spec)
        fill_expansion(engine, spec.pop("arch"), spec.pop("quantity"), spec.pop("order"), **spec)


def _copy_asset_to(url: str) -> None:
    """The asset's rows into a database at revision 0001 (PostgreSQL: sequences moved past them)."""
    dst = get_engine(url)
    command.upgrade(alembic_config(dst), "0001")
    src = create_engine(f"sqlite:///{ASSET}")
    meta, dmeta = MetaData(), MetaData()
    meta.reflect(src)
    dmeta.reflect(dst)
    with src.connect() as s, dst.begin() as d:
        for t in meta.sorted_tables:
            if t.name == "alembic_version":
                continue
            dt = dmeta.tables[t.name]
            rows = [dict(r._mapping) for r in s.execute(select(t))]
            for r in rows:
                for c in dt.columns:
                    if isinstance(c.type, Boolean) and r.get(c.name) is not None:
                        r[c.name] = bool(r[c.name])
            if rows:
                d.execute(dt.insert(), rows)
            if d.dialect.name == "postgresql":
                d.execute(text(f"SELECT setval(pg_get_serial_sequence('{t.name}', 'id'), "
                               f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {t.name}), false)"))
    src.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def old_url(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "old.sqlite"
        shutil.copy(ASSET, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_url")
    _copy_asset_to(url)
    return url


def _count(engine, table: str) -> int:
    with engine.connect() as c:
        return c.execute(select(func.count()).select_from(text(table))).scalar()


def test_upgrade_moves_old_catalogue_without_losing_rows(old_url, tmp_path):
    engine = get_engine(old_url)
    assert current_revision(engine) == "0001"
    assert {t: _count(engine, t) for t in OLD_COUNTS} == OLD_COUNTS
    with engine.connect() as c:  # the bug, as stored by the old code
        assert c.execute(text("SELECT n_pairings, n_orbits FROM operator_graph WHERE label = 'ginibre-p1.tr.o3.1'")).one() == ("15", 4)
        assert c.execute(text("SELECT n_pairings FROM operator_graph WHERE label = 'ginibre-p1.tr.o2.1'")).scalar() == "4"

    res = CliRunner().invoke(app, ["db", "upgrade", "--db", old_url])
    assert res.exit_code == 0, res.output
    assert current_revision(engine) == head_revision()
    command.check(alembic_config(engine))  # models and migrated schema agree
    assert {t: _count(engine, t) for t in OLD_COUNTS} == OLD_COUNTS  # nothing lost
    with engine.connect() as c:
        assert "job" not in {r[0] for r in c.execute(text(
            "SELECT name FROM sqlite_master WHERE type = 'table'" if c.dialect.name == "sqlite"
            else "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"))}
        ge = {tuple(r) for r in c.execute(text(
            "SELECT g.label, ge.ensemble, ge.n_pairings, ge.n_orbits FROM graph_ensemble ge "
            "JOIN operator_graph g ON g.id = ge.graph_id WHERE g.shape LIKE 'ginibre%'"))}
        assert ge == {("ginibre-p1.tr.o3.1", "gaussian", "15", 7), ("ginibre-p1.tr.o3.1", "complex", "6", 4),
                      ("ginibre-p1.tr.o2.1", "rademacher", "4", 4)}
        og = dict((r[0], tuple(r[1:])) for r in c.execute(text(
            "SELECT label, n_pairings, n_orbits, complete FROM operator_graph WHERE shape LIKE 'ginibre%'")))
        assert og == {"ginibre-p1.tr.o3.1": ("15", 7, True), "ginibre-p1.tr.o2.1": ("3", None, False)}
        # the poly fill's evaluated values moved to its own expansion's rows
        ev = c.execute(text("SELECT x.activation, COUNT(*) FROM evaluated_contribution v JOIN expansion x "
                            "ON x.id = v.expansion_id GROUP BY x.activation")).all()
        assert [tuple(r) for r in ev] == [("poly:0,1,3", 2)]
        assert c.execute(text("SELECT COUNT(*) FROM embedding WHERE contribution_json LIKE '%evaluated%'")).scalar() == 0

    # the same fills again: equal to a fresh catalogue filled with them
    _fill_all(engine)
    fresh = f"sqlite:///{tmp_path}/fresh.sqlite"
    ensure_schema(get_engine(fresh))
    _fill_all(get_engine(fresh))
    assert logical_dump(engine) == logical_dump(get_engine(fresh))
    dispose_engine(fresh)


def test_downgrade_puts_the_old_layout_back(tmp_path):
    path = tmp_path / "old.sqlite"
    shutil.copy(ASSET, path)
    url = f"sqlite:///{path}"
    engine = get_engine(url)
    command.upgrade(alembic_config(engine), "head")
    command.downgrade(alembic_config(engine), "0001")
    assert current_revision(engine) == "0001"
    assert {t: _count(engine, t) for t in OLD_COUNTS} == OLD_COUNTS
    with engine.connect() as c:
        assert c.execute(text("SELECT COUNT(*) FROM embedding WHERE contribution_json LIKE '%evaluated%'")).scalar() == 2
    command.upgrade(alembic_config(engine), "head")
    command.check(alembic_config(engine))
