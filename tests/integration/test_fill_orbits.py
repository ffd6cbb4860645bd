"""Fills of cyclic words (GUE, complex Ginibre ``tr (W W^*)^k``) sum their pairings over rotation
orbits, on rank-range tasks: the catalogue is the one of a fill that enumerates every pairing."""

from __future__ import annotations

import pytest

from graphexp_db import genus_kernel as gk
from graphexp_db.catalogue import fill, fill_tasks
from graphexp_db.catalogue.engine import get_engine
from graphexp_db.catalogue.migrate import ensure_schema
from graphexp_db.catalogue.store import logical_dump
from graphexp_db.finite import harer_zagier

pytestmark = pytest.mark.skipif(not gk.compiled_available(), reason="orbit tasks need the compiled kernel (numba)")

EXPANSIONS = [dict(quantity="gue", order=4), dict(quantity="gue", order=6),
              dict(quantity="trace", order=3, p=1, ensemble="complex"), dict(quantity="trace", order=6, p=1, ensemble="complex")]


def _catalogue(tmp_path, name: str, budget: int):
    url = f"sqlite:///{tmp_path / name}.sqlite"
    engine = get_engine(url)
    ensure_schema(engine)
    for spec in EXPANSIONS:
        fill.fill_expansion(engine, None, **spec, budget=budget)
    return engine


@pytest.mark.parametrize("budget", [0, 64])
def test_orbit_fill_equals_every_pairing_fill(tmp_path, monkeypatch, budget):
    tasks = []
    real = fill_tasks._terms_task
    monkeypatch.setattr(fill_tasks, "_terms_task", lambda t: tasks.append(t) or real(t))
    monkeypatch.setattr(fill_tasks, "ORBIT_TASK", 97)  # several rank ranges per graph
    orbit = _catalogue(tmp_path, "orbit", budget)
    assert all(t["orbit"] for t in tasks) and len(tasks) > len(EXPANSIONS)
    for graph, ens in {(t["graph"], t["ensemble"]) for t in tasks}:  # the ranges cover the representatives' ranks
        ranges = sorted((t["start"], t["stop"]) for t in tasks if t["graph"] is graph and t["ensemble"] == ens)
        assert ranges[0][0] == 0 and ranges[-1][1] == gk.orbit_ranks(graph, ens)
        assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    monkeypatch.setattr(fill_tasks, "_orbit_ranks", lambda g, ens: None)
    tasks.clear()
    full = _catalogue(tmp_path, "full", budget)
    assert tasks and not any(t["orbit"] for t in tasks)
    assert logical_dump(orbit) == logical_dump(full)


def test_orbit_fill_is_idempotent(tmp_path):
    engine = _catalogue(tmp_path, "once", 64)
    before = logical_dump(engine)
    for spec in EXPANSIONS:  # every graph complete: skipped, the same summary, nothing written
        s = fill.fill_expansion(engine, None, **spec)
        assert s.graphs_skipped == s.n_graphs and s.graphs_done == 0
        if spec["quantity"] == "gue":
            assert {-e // 2: c for e, c in s.by_exponent.items()} == harer_zagier(spec["order"])
    assert logical_dump(engine) == before


def test_orbit_tasks_on_dask_equal_the_serial_fill(tmp_path, monkeypatch):
    pytest.importorskip("dask.distributed", reason="dask[distributed] is not installed")
    monkeypatch.setattr(fill_tasks, "ORBIT_TASK", 500)  # 12 rank ranges of gue order 6
    dumps = []
    for name, kw in (("serial", {}), ("dask", dict(workers=2, processes=False))):
        engine = get_engine(f"sqlite:///{tmp_path / name}.sqlite")
        ensure_schema(engine)
        fill.fill_expansion(engine, None, "gue", 6, **kw)
        dumps.append(logical_dump(engine))
    assert dumps[0] == dumps[1]
