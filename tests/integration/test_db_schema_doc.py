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
