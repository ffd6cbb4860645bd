"""The catalogue's write layer on SQLite and PostgreSQL: exact types, idempotent inserts,
architecture rows, provenance, SQLite PRAGMAs."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import InvalidRequestError

from graphexp_db.catalogue.engine import default_url, get_engine, session_scope
from graphexp_db.catalogue.migrate import upgrade
from graphexp_db.catalogue.models import (
    Architecture,
    Embedding,
    JacobianMoment,
    OperatorGraph,
    Pairing,
    PairingAggregate,
    Provenance,
)
from graphexp_db.catalogue.store import (
    MAX_PARAMETERS,
    finish_provenance,
    get_or_create_architecture,
    insert_ignore,
    new_provenance,
)
from graphexp_db.spec import parse_arch


@pytest.fixture(params=["sqlite_url", "pg_url"])
def engine(request):
    engine = get_engine(request.getfixturevalue(request.param))
    upgrade(engine)
    return engine


def _graph_row(prov_id: int, i: int = 1, **kw) -> dict:
    row = dict(shape="mlp-L2", quantity="covariance", order=3, index=i, label=f"mlp-L2.cov.o3.{i}", certificate=f"cert-{i}",
               graph_json="{}", n_vertices=4, n_edges=6, coefficient=2, n_pairings=15, n_orbits=None,
               n_automorphisms=None, complete=False, provenance_id=prov_id)
    row.update(kw)
    return row


def test_insert_ignore_is_idempotent(engine):
    keys = ["shape", "quantity", "order", "certificate"]
    with session_scope(engine) as s:
        prov = new_provenance(s, "test", {"x": Fraction(1, 3)})
        rows = [_graph_row(prov.id, i) for i in range(1, 6)]
        assert insert_ignore(s, OperatorGraph, rows, keys) == 5
    with session_scope(engine) as s:
        assert insert_ignore(s, OperatorGraph, rows, keys) == 0  # the same rows again: nothing new
        extra = [_graph_row(prov.id, i) for i in range(4, 8)]  # two old, two new
        assert insert_ignore(s, OperatorGraph, extra, keys) == 2
        assert insert_ignore(s, OperatorGraph, [], keys) == 0
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(OperatorGraph)) == 7
        assert sorted(s.scalars(select(OperatorGraph.index))) == list(range(1, 8))
        assert s.scalar(select(OperatorGraph.complete).limit(1)) is False


def test_insert_ignore_chunks_many_rows(engine):
    n = MAX_PARAMETERS // 10 + 50  # more than one chunk for a 15-column table
    with session_scope(engine) as s:
        prov = new_provenance(s, "test", {})
        rows = [_graph_row(prov.id, i) for i in range(n)]
        assert insert_ignore(s, OperatorGraph, rows, ["shape", "quantity", "order", "certificate"]) == n
        assert insert_ignore(s, OperatorGraph, rows, ["shape", "quantity", "order", "certificate"]) == 0
        assert s.scalar(select(func.count()).select_from(OperatorGraph)) == n


def test_big_counts_round_trip_exactly(engine):
    big = 2**100
    with session_scope(engine) as s:
        prov = new_provenance(s, "test", {})
        insert_ignore(s, OperatorGraph, [_graph_row(prov.id, n_pairings=big, coefficient=-(2**70), n_automorphisms=3**50)],
                      ["shape", "quantity", "order", "certificate"])
        gid = s.scalar(select(OperatorGraph.id))
        s.add(PairingAggregate(graph_id=gid, ensemble="gaussian", n_exponent=0, surface="S0", count=big + 1, provenance_id=prov.id))
        s.add(PairingAggregate(graph_id=gid, ensemble="gaussian", n_exponent=-2, surface="S1", count=7, provenance_id=prov.id))
    with session_scope(engine) as s:
        g = s.scalars(select(OperatorGraph)).one()
        assert (g.n_pairings, g.coefficient, g.n_automorphisms) == (big, -(2**70), 3**50)
        assert type(g.n_pairings) is int
        assert s.scalar(select(PairingAggregate.count).where(PairingAggregate.surface == "S0")) == big + 1
        # the stored text is the exact decimal
        assert s.execute(text("SELECT n_pairings FROM operator_graph")).scalar() == str(big)
        rows = s.execute(text("SELECT surface, genus, n_pairings, n_graphs FROM genus_distribution ORDER BY surface")).all()
    assert [(r[0], r[1], r[3]) for r in rows] == [("S0", 0, 1), ("S1", 1, 1)]
    assert float(rows[0][2]) == pytest.approx(float(big + 1)) and int(rows[1][2]) == 7


def test_exact_rationals_round_trip(engine):
    spec = parse_arch("mlp:L=3,sw=1.5,sb=1/10")
    q = Fraction(-7, 3)
    with session_scope(engine) as s:
        arch = get_or_create_architecture(s, spec)
        prov = new_provenance(s, "test", {})
        s.add(JacobianMoment(architecture_id=arch.id, activation="relu", q_in=q, k=2, value=float(q),
                             value_exact=Fraction(10**30 + 1, 3), method="exact", provenance_id=prov.id))
    with session_scope(engine) as s:
        jm = s.scalars(select(JacobianMoment)).one()
        assert jm.q_in == q and jm.value_exact == Fraction(10**30 + 1, 3) and isinstance(jm.q_in, Fraction)
        arch = s.scalars(select(Architecture)).one()
        assert (arch.sw, arch.sb) == (Fraction(3, 2), Fraction(1, 10))
        assert s.execute(text("SELECT sw, sb FROM architecture")).one() == ("3/2", "1/10")
        # the natural key on q_in holds for the exact text
        same = dict(architecture_id=arch.id, activation="relu", q_in=Fraction(-14, 6), k=2, value=0.0, method="exact",
                    provenance_id=jm.provenance_id)
        assert insert_ignore(s, JacobianMoment, [same], ["architecture_id", "activation", "q_in", "k", "method"]) == 0
    with pytest.raises(Exception, match="floats are not exact"):
        with session_scope(engine) as s:
            s.add(JacobianMoment(architecture_id=arch.id, activation="tanh", q_in=0.5, k=1, value=0.5, method="x",
                                 provenance_id=jm.provenance_id))


def test_get_or_create_architecture_is_keyed_by_hash(engine):
    specs = ["mlp:L=2,sw=1.5", "mlp:sw=3/2,L=2,sb=0", "resnet:L=inf,sw=1", '{"kind":"dag","edges":[[0,1],[1,2],[0,2]]}']
    with session_scope(engine) as s:
        ids = [get_or_create_architecture(s, parse_arch(t)).id for t in specs]
    assert ids[0] == ids[1] and len(set(ids)) == 3
    with session_scope(engine) as s:
        rows = {a.kind: a for a in s.scalars(select(Architecture))}
        assert rows["resnet"].depth is None and rows["resnet"].sb is None and rows["resnet"].shape == "resnet-Linf"
        assert rows["dag"].depth == 1 and json.loads(rows["dag"].spec_json)["edges"] == [[0, 1], [0, 2], [1, 2]]
        assert rows["mlp"].spec == "mlp:L=2,sw=3/2,sb=0" and rows["mlp"].depth == 2
        assert s.scalar(select(func.count()).select_from(Architecture)) == 3


def test_provenance_rows(engine):
    with session_scope(engine) as s:
        prov = new_provenance(s, "graph-expansion", {"order": 3, "sw": Fraction(3, 2)}, device="gpu")
        assert prov.finished_at is None
        finish_provenance(s, prov.id)
    with session_scope(engine) as s:
        p = s.scalars(select(Provenance)).one()
        assert p.method == "graph-expansion" and p.device == "gpu" and p.host and p.code_version
        assert json.loads(p.parameters) == {"order": 3, "sw": "3/2"}
        assert p.finished_at is not None and p.started_at is not None


def test_relationships_never_lazy_load(engine):
    with session_scope(engine) as s:
        prov = new_provenance(s, "test", {})
        insert_ignore(s, OperatorGraph, [_graph_row(prov.id)], ["shape", "quantity", "order", "certificate"])
    with session_scope(engine) as s:
        g = s.scalars(select(OperatorGraph)).one()
        with pytest.raises(InvalidRequestError):
            _ = g.pairings


def test_foreign_keys_are_enforced(engine):
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        with session_scope(engine) as s:
            s.add(Pairing(graph_id=12345, ensemble="gaussian", rank=0, blocks_json="[]", multiplicity=1, provenance_id=1))


def test_cascade_from_graph_to_pairings(engine):
    with session_scope(engine) as s:
        prov = new_provenance(s, "test", {})
        insert_ignore(s, OperatorGraph, [_graph_row(prov.id)], ["shape", "quantity", "order", "certificate"])
        gid = s.scalar(select(OperatorGraph.id))
        s.add(Pairing(graph_id=gid, ensemble="gaussian", rank=2**80, blocks_json="[[0,1]]", multiplicity=3, provenance_id=prov.id))
        s.flush()
        pid = s.scalar(select(Pairing.id))
        s.add(Embedding(pairing_id=pid, kind="quotient", V=2, E=1, F=None, chi=1, genus=None, crosscaps=None, orientable=None,
                        n_exponent=0, leading=True, quotient_json="[]", contribution="c1^2", contribution_json="{}"))
    with session_scope(engine) as s:
        assert s.execute(text("SELECT label, rank FROM leading_pairings")).one() == ("mlp-L2.cov.o3.1", str(2**80))
        s.execute(text("DELETE FROM operator_graph"))
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Embedding)) == 0


def test_sqlite_pragmas(sqlite_url):
    engine = get_engine(sqlite_url)
    with engine.connect() as c:
        assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert c.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert c.execute(text("PRAGMA busy_timeout")).scalar() >= 1000
    assert get_engine(sqlite_url) is engine


def test_default_url(monkeypatch, tmp_path):
    monkeypatch.setenv("GRAPHEXP_DB", f"sqlite:///{tmp_path}/env.sqlite")
    assert default_url() == f"sqlite:///{tmp_path}/env.sqlite"
    monkeypatch.delenv("GRAPHEXP_DB")
    from graphexp_db.catalogue.engine import REPO_ROOT

    assert default_url() == f"sqlite:///{REPO_ROOT / 'data' / 'catalogue.sqlite'}"
    assert (REPO_ROOT / "data").is_dir() and (REPO_ROOT / "graphexp_db").is_dir()


def test_session_scope_rolls_back(sqlite_url):
    engine = get_engine(sqlite_url)
    upgrade(engine)
    with pytest.raises(RuntimeError):
        with session_scope(engine) as s:
            new_provenance(s, "test", {})
            raise RuntimeError("boom")
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Provenance)) == 0
