"""Every ```sql block of docs/schema.md runs on a freshly upgraded catalogue, on SQLite and on
PostgreSQL (skipped with a reason when it is down), empty and after a small fill."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import text

from graphexp_db.catalogue.engine import get_engine
from graphexp_db.catalogue.migrate import upgrade

SCHEMA_MD = Path(__file__).resolve().parents[2] / "docs" / "schema.md"


def sql_blocks(path: Path = SCHEMA_MD) -> list[str]:
    """The bodies of the ```sql fenced blocks of ``path``."""
    return [m.group(1).strip() for m in re.finditer(r"```sql[^\n]*\n(.*?)```", path.read_text(encoding="utf-8"), re.S)]


BLOCKS = sql_blocks()


def test_schema_doc_has_examples():
    assert len(BLOCKS) >= 5
    assert all(b.lstrip().upper().startswith(("SELECT", "WITH")) for b in BLOCKS)


def test_schema_doc_mentions_every_table_and_view():
    from graphexp_db.catalogue.models import VIEWS, Base

    doc = SCHEMA_MD.read_text(encoding="utf-8")
    for name in [*Base.metadata.tables, *VIEWS]:
        assert f"### {name}\n" in doc, name
    for table in Base.metadata.tables.values():
        section = doc.split(f"### {table.name}\n", 1)[1].split("\n### ", 1)[0]
        for col in table.columns:
            assert f"`{col.name}`" in section, f"{table.name}.{col.name} is not documented"


@pytest.fixture(params=["sqlite_url", "pg_url"])
def engine(request):
    engine = get_engine(request.getfixturevalue(request.param))
    upgrade(engine)
    return engine


def _run_all(engine) -> list[list[tuple]]:
    out = []
    with engine.connect() as conn:
        for sql in BLOCKS:
            try:
                out.append([tuple(r) for r in conn.execute(text(sql)).all()])
            except Exception as err:  # pragma: no cover - the message names the failing example
                pytest.fail(f"example query failed on {engine.dialect.name}: {err}\n{sql}")
    return out


def test_examples_run_on_an_empty_catalogue(engine):
    results = _run_all(engine)
    assert all(r == [] for r in results)


def test_examples_run_on_a_small_fill(engine):
    from graphexp_db.catalogue.fill import fill_expansion
    from graphexp_db.finite import harer_zagier

    for n in (1, 2, 3):
        fill_expansion(engine, None, "gue", n)
    fill_expansion(engine, None, "trace", 2, ensemble="gaussian", p=1)
    results = _run_all(engine)
    hz = {}
    for n, genus, count in results[0]:
        hz.setdefault(int(n), {})[int(genus)] = int(count)
    assert hz == {n: harer_zagier(n) for n in (1, 2, 3)}
    assert [(int(j), int(c)) for j, c in results[2]] == [(0, 2), (1, 1)]  # (1/N) E tr (X X^T)^2 = 2 + 1/N
    assert results[3], "the stored pairings of gue.gue.o3.1"
    assert results[5] == []  # chi = V - E + F everywhere


def _block(title_start: str) -> str:
    """The ```sql block that follows the paragraph starting with ``title_start``."""
    doc = SCHEMA_MD.read_text(encoding="utf-8")
    i = doc.index(title_start)
    m = re.search(r"```sql[^\n]*\n(.*?)```", doc[i:], re.S)
    return m.group(1).strip()


def test_euler_example_holds_for_non_gaussian_partitions(sqlite_url):
    """Example 6 states the invariant that also holds for cumulant partitions (blocks of size 4):
    chi = V + E + F - n.  The old statement chi = V - E + F returns rows on such fills."""
    from graphexp_db.catalogue.fill import fill_expansion

    engine = get_engine(sqlite_url)
    upgrade(engine)
    fill_expansion(engine, None, "trace", 3, ensemble="rademacher", p=1)
    fill_expansion(engine, None, "trace", 2, ensemble="gaussian", p=1)
    with engine.connect() as conn:
        assert conn.execute(text(_block("Euler characteristic check"))).all() == []
        old = conn.execute(text("SELECT COUNT(*) FROM embedding e WHERE e.kind = 'ribbon' AND e.chi <> e.\"V\" - e.\"E\" + e.\"F\"")).scalar()
        assert old > 0  # the non-Gaussian partitions the old example got wrong
        n_ribbon = conn.execute(text("SELECT COUNT(*) FROM embedding WHERE kind = 'ribbon'")).scalar()
        assert n_ribbon > old


def test_genus_example_reads_the_aggregates(sqlite_url):
    """The genus-3 example lists tr H^12 (gue order 6) although its genus-3 orbits are beyond the
    stored orbit budget of a small fill."""
    from graphexp_db.catalogue.fill import fill_expansion

    engine = get_engine(sqlite_url)
    upgrade(engine)
    fill_expansion(engine, None, "gue", 6, budget=4)
    with engine.connect() as conn:
        rows = conn.execute(text(_block("Graphs with a pairing of genus 3"))).all()
        stored_g3 = conn.execute(text("SELECT COUNT(*) FROM embedding WHERE genus = 3")).scalar()
    assert [(r[0], int(r[3])) for r in rows] == [("gue.gue.o6.1", 1485)]  # Harer-Zagier: genus-3 pairings of tr H^12
    assert stored_g3 == 0  # the orbit rows alone would miss it
