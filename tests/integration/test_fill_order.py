"""The catalogue does not depend on fill order (issue 13.1), on SQLite and on PostgreSQL.

The same set of expansions is filled in every order (all 24 permutations), and in parallel
processes, into fresh catalogues; their full logical dumps (natural keys instead of ids, the
provenance's method instead of its row) must be equal.  The set holds the two reproductions of
the issue: real vs complex Ginibre trace words (p = 1, k = 3) share one operator graph, and the
covariance expansions of ``mlp:L=1,sw=2`` with ``poly:0,1,3`` and of ``mlp:L=1`` with ``tanh``
share every graph, pairing and embedding of shape ``mlp-L1``.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import uuid
from fractions import Fraction
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from graphexp_db.catalogue import models as m
from graphexp_db.catalogue.engine import dispose_engine, get_engine  # noqa: F401
from graphexp_db.catalogue.fill import fill_expansion
from graphexp_db.catalogue.migrate import ensure_schema
from graphexp_db.catalogue.store import logical_dump

REPO = Path(__file__).resolve().parents[2]

EXPANSIONS = [
    dict(arch=None, quantity="trace", order=3, p=1, ensemble="gaussian"),
    dict(arch=None, quantity="trace", order=3, p=1, ensemble="complex"),
    dict(arch="mlp:L=1,sw=2", quantity="covariance", order=1, activation="poly:0,1,3"),
    dict(arch="mlp:L=1", quantity="covariance", order=1, activation="tanh"),
]


FILL_ONE = (
    "import json, sys\n"
    "from graphexp_db.catalogue.engine import get_engine\n"
    "from graphexp_db.catalogue.fill import fill_expansion\n"
    "spec = json.loads(sys.argv[2])\n"
    "fill_expansion(get_engine(sys.argv[1]), spec.pop('arch'), spec.pop('quantity'), spec.pop('order'), **spec)\n"
)


def _fill(url: str, spec: dict, **kw) -> None:
    spec = dict(spec)
    fill_expansion(get_engine(url), spec.pop("arch"), spec.pop("quantity"), spec.pop("order"), **spec, **kw)


def _cli_args(spec: dict) -> list[str]:
    args = ["expand", "--quantity", spec["quantity"], "--order", str(spec["order"])]
    for opt in ("arch", "p", "ensemble", "activation"):
        if spec.get(opt) is not None:
            args += [f"--{opt}", str(spec[opt])]
    return args


def _reset(url: str) -> None:
    """Empty every catalogue table (PostgreSQL: one schema reused, faster than a schema per order)."""
    from sqlalchemy import text

    from graphexp_db.catalogue.models import Base

    engine = get_engine(url)
    if engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path):
    """A callable giving the URL of an empty catalogue at head, on each backend."""
    if request.param == "sqlite":
        def make() -> str:
            url = f"sqlite:///{tmp_path / (uuid.uuid4().hex[:8] + '.sqlite')}"
            ensure_schema(get_engine(url))
            return url

        yield make
        return
    url = request.getfixturevalue("pg_url")
    ensure_schema(get_engine(url))

    def make_pg() -> str:
        _reset(url)
        return url

    yield make_pg


def _dump_after(url: str, order) -> dict:
    for i in order:
        _fill(url, EXPANSIONS[i])
    dump = logical_dump(get_engine(url))
    return dump


@pytest.mark.parametrize("first", range(len(EXPANSIONS)))
def test_every_order_gives_one_catalogue(fresh_url, first):
    """All 24 orders, in four groups by the first expansion filled (6 orders each)."""
    reference = _dump_after(fresh_url(), (0, 1, 2, 3))
    rest = [i for i in range(len(EXPANSIONS)) if i != first]
    n = 0
    for tail in itertools.permutations(rest):
        order = (first, *tail)
        assert _dump_after(fresh_url(), order) == reference, f"fill order {order} differs from (0, 1, 2, 3)"
        n += 1
    assert n == 6 and len(reference["expansion"]) == 4 and len(reference["graph_ensemble"]) > len(reference["operator_graph"])


def test_parallel_fills_give_the_same_catalogue(fresh_url):
    """The four fills at once, in separate processes, on one catalogue."""
    reference = _dump_after(fresh_url(), (0, 1, 2, 3))
    url = fresh_url()
    # the API in each process (the CLI's own parallel use is covered by the fourth process)
    procs = [subprocess.Popen([sys.executable, "-c", FILL_ONE, url, json.dumps(spec)], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for spec in EXPANSIONS[:3]]
    procs.append(subprocess.Popen([sys.executable, "-m", "graphexp_db.cli", *_cli_args(EXPANSIONS[3]), "--db", url, "--json"],
                                  cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert logical_dump(get_engine(url)) == reference

    # the dump holds what each expansion says about itself, not the other fills' values
    engine = get_engine(url)
    with Session(engine) as s:
        ge = dict(s.execute(select(m.GraphEnsemble.ensemble, m.GraphEnsemble.n_pairings).join(m.OperatorGraph)
                            .where(m.OperatorGraph.label == "ginibre-p1.tr.o3.1")).all())
        assert ge == {"gaussian": 15, "complex": 6}  # (2k-1)!! = 15 real, k! = 6 complex pairings
        n_orbits = dict(s.execute(select(m.GraphEnsemble.ensemble, m.GraphEnsemble.n_orbits).join(m.OperatorGraph)
                                  .where(m.OperatorGraph.label == "ginibre-p1.tr.o3.1")).all())
        g = s.execute(select(m.OperatorGraph).where(m.OperatorGraph.label == "ginibre-p1.tr.o3.1")).scalar_one()
        assert (g.n_pairings, g.n_orbits) == (15, n_orbits["gaussian"])
        # evaluated contributions: each expansion's own numbers (sw = 2 and c2 = 3 vs tanh's c2 = 0)
        ev = s.execute(select(m.Expansion.activation, m.EvaluatedContribution.contribution_json, m.Embedding.contribution_json)
                       .join(m.EvaluatedContribution, m.EvaluatedContribution.expansion_id == m.Expansion.id)
                       .join(m.Embedding, m.Embedding.pairing_id == m.EvaluatedContribution.pairing_id)).all()
        status = s.execute(select(m.Expansion.status, m.Provenance.finished_at).join(m.Provenance)).all()
    by_act: dict[str, set] = {}
    for act, evaluated, symbolic in ev:
        assert "evaluated" not in json.loads(symbolic)
        by_act.setdefault(act, set()).update(json.loads(evaluated))
    assert set(by_act) == {"poly:0,1,3", "tanh"} and by_act["poly:0,1,3"] != by_act["tanh"]
    assert len(status) == 4 and all(st == "complete" and fin is not None for st, fin in status)


def test_evaluated_values_are_the_expansions_own(tmp_path):
    """Independent check of one evaluated term: the poly fill's value, recomputed by hand."""
    url = f"sqlite:///{tmp_path}/e.sqlite"
    ensure_schema(get_engine(url))
    _fill(url, dict(EXPANSIONS[3], order=2))  # tanh first: before the fix the poly fill then reused tanh's numbers
    _fill(url, dict(EXPANSIONS[2], order=2))
    engine = get_engine(url)
    with Session(engine) as s:
        rows = s.execute(select(m.Expansion.activation, m.Embedding.contribution_json, m.EvaluatedContribution.contribution_json)
                         .join(m.EvaluatedContribution, m.EvaluatedContribution.expansion_id == m.Expansion.id)
                         .join(m.Embedding, m.Embedding.pairing_id == m.EvaluatedContribution.pairing_id)).all()
    # poly:0,1,3 is z + 3 z^2; tanh z = z - z^3/3 + ...
    values = {"poly:0,1,3": {"c0": 0, "c1": 1, "c2": 3, "c3": 0, "sw": 2, "sb": 0},
              "tanh": {"c0": 0, "c1": 1, "c2": 0, "c3": Fraction(-1, 3), "sw": 1, "sb": 0}}
    checked = 0
    for act, symbolic, evaluated in rows:
        for term, ev in zip(json.loads(symbolic)["terms"], json.loads(evaluated)):
            coeff = Fraction(term["weight"])
            for sym, power in term["factors"].items():
                if sym in values[act]:
                    coeff *= Fraction(values[act][sym]) ** power
            lead = ev.split(" * ")[0]
            if coeff == 0:
                assert ev.startswith("0") or lead == "0"
            else:
                assert Fraction(lead) == coeff or (lead.startswith("S") and coeff == 1), (act, term, ev)
            checked += 1
    assert checked > 10 and {a for a, _, _ in rows} == {"poly:0,1,3", "tanh"}


def test_budgets_union_whatever_the_order(tmp_path):
    """Fills of one expansion with budgets 2 and 64 store the 64-budget prefix in either order."""
    spec = dict(arch=None, quantity="trace", order=3, p=1, ensemble="rademacher")
    dumps = []
    for budgets in ((2, 64), (64, 2), (0, 64), (64, 0)):
        url = f"sqlite:///{tmp_path}/b{budgets[0]}_{budgets[1]}.sqlite"
        ensure_schema(get_engine(url))
        for b in budgets:
            _fill(url, spec, budget=b)
        dumps.append(logical_dump(get_engine(url)))
        dispose_engine(url)
    assert all(d == dumps[0] for d in dumps)
    ge = dumps[0]["graph_ensemble"]
    assert len(dumps[0]["pairing"]) == dict(ge[0])["n_orbits"] > 2
