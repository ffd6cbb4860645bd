"""The paper preset's steps store limits, moments, densities and graph-sum tables that the schema
doc's queries read back (a few steps of each kind, to keep the suite fast)."""

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import text

from graphexp_db.catalogue.engine import get_engine
from graphexp_db.catalogue.limits_store import paper_steps
from graphexp_db.catalogue.migrate import ensure_schema
from graphexp_db.finite import fuss_catalan
from graphexp_db.limits import jacobian_moments


def test_paper_steps_and_doc_queries(tmp_path):
    engine = get_engine(f"sqlite:///{tmp_path}/paper.sqlite")
    ensure_schema(engine)
    steps = paper_steps()
    assert len(steps) == 4 * 10 + 2
    chosen = [s for s in steps if s.name in ("tanh L=1", "tanh L=2", "identity L=3", "graph sums sin")]
    for s in chosen:
        s.run(engine, "cpu")
    for s in chosen:  # idempotent
        s.run(engine, "cpu")
    doc = (Path(__file__).resolve().parents[2] / "docs" / "schema.md").read_text()
    blocks = re.findall(r"```sql\n(.*?)```", doc, re.S)
    tanh_q = next(b for b in blocks if "activation = 'tanh'" in b)
    with engine.connect() as c:
        rows = c.execute(text(tanh_q)).all()
        assert [(r[0], r[1]) for r in rows] == [(L, k) for L in (1, 2) for k in range(1, 9)]
        expected = jacobian_moments("mlp:L=2,sw=1.5,sb=0", "tanh", 1.0, 8)
        assert [r[2] for r in rows if r[0] == 2] == pytest.approx(expected, rel=1e-12)
        ident = c.execute(text("SELECT k, value_exact FROM jacobian_moment WHERE activation = 'identity' ORDER BY k")).all()
        assert [int(v) for _, v in ident] == [fuss_catalan(4, k) for k in range(1, 13)]  # sw = 1: exact Fuss-Catalan
        conv = c.execute(text(next(b for b in blocks if "graph_sum_convergence" in b))).all()
        assert conv[-1][-1] < 1e-9 and conv[0][-1] > 1e-3
        n_dup = c.execute(text("SELECT COUNT(*) FROM jacobian_moment")).scalar()
        assert n_dup == 3 * 12
        dens = c.execute(text("SELECT grid_json, density_json FROM spectral_density")).all()
        assert len(dens) == 2 and all(len(json.loads(g)) == len(json.loads(d)) for g, d in dens)
