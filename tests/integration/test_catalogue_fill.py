"""The catalogue filled by the engine: Harer–Zagier, Catalan / Fuss–Catalan, Ginibre moments,
idempotent and resumable fills, on SQLite (and PostgreSQL when it answers)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from graphexp_db.catalogue import models as m
from graphexp_db.catalogue.engine import get_engine
from graphexp_db.catalogue.fill import fill_expansion
from graphexp_db.catalogue.migrate import ensure_schema
from graphexp_db.finite import fuss_catalan, harer_zagier


@pytest.fixture(scope="module")
def gue_engine(tmp_path_factory):
    engine = get_engine(f"sqlite:///{tmp_path_factory.mktemp('cat')}/gue.sqlite")
    ensure_schema(engine)
    for n in range(1, 9):
        fill_expansion(engine, None, "gue", n)
    return engine


def test_harer_zagier_table_from_the_catalogue(gue_engine):
    sql = text(
        "SELECT g.\"order\", a.surface, SUM(CAST(a.count AS INTEGER)) FROM pairing_aggregate a "
        "JOIN operator_graph g ON g.id = a.graph_id WHERE g.shape = 'gue' GROUP BY g.\"order\", a.surface"
    )
    with gue_engine.connect() as c:
        rows = c.execute(sql).all()
    table: dict[int, dict[int, int]] = {}
    for n, surface, count in rows:
        assert surface.startswith("S")  # GUE pairings are orientable
        table.setdefault(n, {})[int(surface[1:])] = int(count)
    assert table == {n: harer_zagier(n) for n in range(1, 9)}


def test_orbit_rows_carry_multiplicities_that_sum_to_totals(gue_engine):
    with Session(gue_engine) as s:
        for n in range(1, 8):
            gid, total = s.execute(select(m.OperatorGraph.id, m.OperatorGraph.n_pairings).where(
                m.OperatorGraph.shape == "gue", m.OperatorGraph.order == n)).one()
            orbit_sum = sum(int(r) for r in s.scalars(select(m.Pairing.multiplicity).where(m.Pairing.graph_id == gid)))
            n_orbits = s.scalar(select(m.OperatorGraph.n_orbits).where(m.OperatorGraph.id == gid))
            if n_orbits <= 64:  # all orbits stored individually
                assert orbit_sum == int(total)
            emb = s.execute(select(m.Embedding.genus, m.Embedding.n_exponent, m.Embedding.chi, m.Embedding.V, m.Embedding.E,
                                   m.Embedding.F).join(m.Pairing).where(m.Pairing.graph_id == gid)).all()
            assert all(chi == V - E + F and e == -2 * g for g, e, chi, V, E, F in emb)


@pytest.fixture(scope="module")
def ginibre_engine(tmp_path_factory):
    engine = get_engine(f"sqlite:///{tmp_path_factory.mktemp('cat')}/ginibre.sqlite")
    ensure_schema(engine)
    for p in (1, 2, 3):
        for k in (1, 2, 3, 4):
            fill_expansion(engine, None, "trace", k, ensemble="complex", p=p)
            if p * k <= 8:
                fill_expansion(engine, None, "trace", k, ensemble="gaussian", p=p)
    return engine


def _counts(engine, p, k, ensemble):
    with Session(engine) as s:
        rows = s.execute(select(m.PairingAggregate.n_exponent, m.PairingAggregate.count).join(
            m.OperatorGraph, m.OperatorGraph.id == m.PairingAggregate.graph_id).where(
            m.OperatorGraph.shape == f"ginibre-p{p}", m.OperatorGraph.order == k, m.PairingAggregate.ensemble == ensemble)).all()
    out: dict[int, int] = {}
    for e, c in rows:
        out[-e] = out.get(-e, 0) + int(c)
    return out


@pytest.mark.parametrize("p", [1, 2, 3])
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_catalan_and_fuss_catalan_leading_counts(ginibre_engine, p, k):
    assert _counts(ginibre_engine, p, k, "complex")[0] == fuss_catalan(p, k)
    if p * k <= 8:
        assert _counts(ginibre_engine, p, k, "gaussian")[0] == fuss_catalan(p, k)


def test_real_and_complex_ginibre_second_moment(ginibre_engine):
    assert _counts(ginibre_engine, 1, 2, "gaussian") == {0: 2, 1: 1}  # 2 + 1/N
    assert _counts(ginibre_engine, 1, 2, "complex") == {0: 2}


def _dump(engine) -> dict:
    """Catalogue content without surrogate ids and provenance (what must not depend on the run)."""
    out = {}
    with Session(engine) as s:
        graphs = s.execute(select(m.OperatorGraph.label, m.OperatorGraph.certificate, m.OperatorGraph.n_pairings,
                                  m.OperatorGraph.n_orbits, m.OperatorGraph.complete, m.OperatorGraph.coefficient)).all()
        out["graphs"] = sorted(map(tuple, graphs))
        out["pairings"] = sorted(s.execute(select(m.OperatorGraph.label, m.Pairing.ensemble, m.Pairing.rank, m.Pairing.multiplicity,
                                                  m.Pairing.blocks_json).join(m.OperatorGraph, m.OperatorGraph.id == m.Pairing.graph_id)).all())
        out["embeddings"] = sorted(s.execute(select(m.Pairing.rank, m.Embedding.n_exponent, m.Embedding.contribution, m.Embedding.V)
                                             .join(m.Pairing)).all())
        out["aggregates"] = sorted(s.execute(select(m.OperatorGraph.label, m.PairingAggregate.surface, m.PairingAggregate.n_exponent,
                                                    m.PairingAggregate.count).join(m.OperatorGraph, m.OperatorGraph.id == m.PairingAggregate.graph_id)).all())
    return out


class _Kill(Exception):
    pass


def test_fill_is_idempotent_and_resumable(tmp_path):
    clean = get_engine(f"sqlite:///{tmp_path}/clean.sqlite")
    ensure_schema(clean)
    fill_expansion(clean, "mlp:L=2", "covariance", 1, activation="poly:0,1,1/2")
    reference = _dump(clean)
    assert len(reference["graphs"]) > 10 and reference["pairings"] and reference["aggregates"]

    killed = get_engine(f"sqlite:///{tmp_path}/killed.sqlite")
    ensure_schema(killed)
    calls = {"n": 0}

    def die(done, total):
        calls["n"] += 1
        if calls["n"] == 7:
            raise _Kill()

    with pytest.raises(_Kill):
        fill_expansion(killed, "mlp:L=2", "covariance", 1, activation="poly:0,1,1/2", progress=die)
    partial = _dump(killed)
    assert 0 < sum(1 for g in partial["graphs"] if g[4]) < len(reference["graphs"])  # some graphs were committed
    summary = fill_expansion(killed, "mlp:L=2", "covariance", 1, activation="poly:0,1,1/2")
    assert summary.graphs_skipped > 0
    assert _dump(killed) == reference
    fill_expansion(killed, "mlp:L=2", "covariance", 1, activation="poly:0,1,1/2")  # and once more: nothing changes
    assert _dump(killed) == reference
    with Session(killed) as s:
        status = s.scalars(select(m.Expansion.status)).all()
    assert status == ["complete"]


def test_labels_are_stable_and_lmfdb_style(tmp_path):
    e1 = get_engine(f"sqlite:///{tmp_path}/a.sqlite")
    ensure_schema(e1)
    s1 = fill_expansion(e1, "mlp:L=1", "covariance", 2)
    assert s1.labels[0] == "mlp-L1.cov.o2.1" and len(s1.labels) == s1.n_graphs
    e2 = get_engine(f"sqlite:///{tmp_path}/b.sqlite")
    ensure_schema(e2)
    s2 = fill_expansion(e2, "mlp:L=1", "covariance", 2)
    with Session(e1) as a, Session(e2) as b:
        la = a.execute(select(m.OperatorGraph.label, m.OperatorGraph.certificate)).all()
        lb = b.execute(select(m.OperatorGraph.label, m.OperatorGraph.certificate)).all()
    assert sorted(la) == sorted(lb) and s1.labels == s2.labels


def test_fill_on_postgres(pg_url):
    engine = get_engine(pg_url)
    ensure_schema(engine)
    fill_expansion(engine, None, "gue", 4)
    fill_expansion(engine, None, "gue", 4)  # idempotent on PostgreSQL too
    with Session(engine) as s:
        rows = s.execute(select(m.PairingAggregate.surface, m.PairingAggregate.count).join(
            m.OperatorGraph, m.OperatorGraph.id == m.PairingAggregate.graph_id).where(m.OperatorGraph.shape == "gue")).all()
    assert {int(surf[1:]): int(c) for surf, c in rows} == harer_zagier(4)


def test_schema_doc_harer_zagier_example_gives_the_table(gue_engine):
    """The first example query of docs/schema.md, run on a filled catalogue, is the Harer–Zagier table."""
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "schema.md").read_text()
    block = re.findall(r"```sql\n(.*?)```", doc, re.S)[0]
    assert "genus_distribution" in block and "gue" in block
    with gue_engine.connect() as c:
        rows = c.execute(text(block)).all()
    table: dict[int, dict[int, int]] = {}
    for n, genus, count in rows:
        table.setdefault(int(n), {})[int(genus)] = int(count)
    assert table == {n: harer_zagier(n) for n in range(1, 9)}


def test_fill_on_dask_equals_the_serial_fill(tmp_path, monkeypatch):
    """Rank ranges of the pairing spaces as Dask tasks (a LocalCluster in this process): the same catalogue."""
    import graphexp_db.catalogue.fill_tasks as fill_tasks

    monkeypatch.setattr(fill_tasks, "TASK_PAIRINGS", 1000)  # several tasks per large graph
    serial = get_engine(f"sqlite:///{tmp_path}/serial.sqlite")
    dist = get_engine(f"sqlite:///{tmp_path}/dask.sqlite")
    for engine, kw in ((serial, {}), (dist, {"workers": 2, "processes": False})):
        ensure_schema(engine)
        fill_expansion(engine, None, "gue", 5, **kw)  # 945 pairings, one graph
        fill_expansion(engine, None, "trace", 3, ensemble="gaussian", p=2, **kw)  # 3375 pairings: 4 tasks
        fill_expansion(engine, "mlp:L=2", "covariance", 1, **kw)
    assert _dump(dist) == _dump(serial)
    with Session(dist) as s:
        summaries = s.scalars(select(m.Expansion.summary_json).order_by(m.Expansion.id)).all()
    with Session(serial) as s:
        assert summaries == s.scalars(select(m.Expansion.summary_json).order_by(m.Expansion.id)).all()


def test_cumulant_partitions_are_stored_as_orbits(tmp_path):
    from graphexp_db.expand import trace_word_graph
    from graphexp_db.pair import count_partitions

    engine = get_engine(f"sqlite:///{tmp_path}/c.sqlite")
    ensure_schema(engine)
    fill_expansion(engine, None, "trace", 3, ensemble="rademacher", p=1)
    with Session(engine) as s:
        g = s.execute(select(m.OperatorGraph).where(m.OperatorGraph.shape == "ginibre-p1")).scalar_one()
        mults = [int(v) for v in s.scalars(select(m.Pairing.multiplicity).where(m.Pairing.graph_id == g.id))]
        ge = s.execute(select(m.GraphEnsemble).where(m.GraphEnsemble.graph_id == g.id)).scalar_one()
    # rademacher cumulants never vanish: the orbit sizes add up to every partition
    assert sum(mults) == count_partitions(trace_word_graph(1, 3)) == ge.n_pairings
    assert ge.ensemble == "rademacher" and len(mults) == ge.n_orbits < sum(mults)
    # the shared graph row keeps the Gaussian count and no rademacher orbit count
    assert g.n_pairings == 15 and g.n_orbits is None and g.complete is False
