"""Size guards are cheap (issue 13.3): refusals come from closed forms and O(order) counting.

Each refusal below is a one-line error with exit code 2 that states the estimate and ``--force``,
writes nothing, and answers within two seconds of CPU time (measured in-process with CliRunner,
modules imported beforehand: a correctness bound, not a speed target - the old code took minutes or
exhausted memory; CPU time, so that other jobs on a shared machine do not move it; the speed figures
are in benchmarks/bench_size_estimate.py).
The estimates themselves are checked against the enumeration (independent method) where small.
"""

from __future__ import annotations

import time

import pytest
from typer.testing import CliRunner

from graphexp_db.catalogue.fill import plan_expansion
from graphexp_db.cli import app
from graphexp_db.expand import check_size, estimate_expansion
from graphexp_db.pair import count_partitions
from graphexp_db.spec import parse_arch

BUDGET_CPU_S = 2.0

REFUSED = [
    (["expand", "--arch", "mlp:L=2", "--quantity", "covariance", "--order", "3"], "pairings"),
    (["expand", "--arch", "mlp:L=2", "--quantity", "covariance", "--order", "2147483648"], "graphs"),
    (["expand", "--arch", "mlp:L=2", "--quantity", "fourpoint", "--order", "2147483648"], "graphs"),
    (["expand", "--arch", "resnet:L=40", "--quantity", "ntk", "--order", "5"], "graphs"),
    (["expand", "--arch", "mlp:L=2", "--quantity", "fourpoint", "--order", "2"], "pairings"),
    (["expand", "--arch", "mlp:L=1", "--quantity", "covariance", "--order", "40"], "pairings"),
    (["expand", "--quantity", "gue", "--order", "1000000"], "letters"),
    (["expand", "--quantity", "gue", "--order", "30"], "pairings"),
    (["expand", "--quantity", "trace", "--p", "3", "--order", "2147483648"], "letters"),
    (["expand", "--quantity", "trace", "--p", "2", "--order", "9", "--ensemble", "complex"], "pairings"),
    (["expand", "--arch", "mlp:L=3", "--quantity", "jacobian", "--order", "1000000"], "letters"),
    (["moments", "jacobian", "--arch", "mlp:L=3", "--activation", "tanh", "--kmax", "100000"], "operations"),
    (["moments", "jacobian", "--arch", "mlp:L=1", "--activation", "relu", "--kmax", "2147483648"], "operations"),
    (["moments", "jacobian", "--arch", "mlp:L=3", "--activation", "tanh", "--kmax", "30", "--method", "noncrossing"], "operations"),
]


@pytest.fixture(scope="module")
def runner():
    r = CliRunner()
    r.invoke(app, ["expand", "--help"])  # import the command modules outside the timed calls
    r.invoke(app, ["moments", "jacobian", "--help"])
    import graphexp_db.catalogue.fill  # noqa: F401
    import graphexp_db.limits  # noqa: F401

    return r


@pytest.mark.timeout(30)
@pytest.mark.parametrize("args,unit", REFUSED, ids=lambda a: " ".join(a) if isinstance(a, list) else a)
def test_guard_refuses_without_enumerating(runner, args, unit, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "c.sqlite"
    t0 = time.process_time()
    res = runner.invoke(app, [*args, "--db", f"sqlite:///{db}"])
    elapsed = time.process_time() - t0
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.output
    assert "--force" in lines[0] and unit in lines[0] and "limit" in lines[0]
    assert elapsed < BUDGET_CPU_S, f"refusal took {elapsed:.2f} s of CPU"
    assert not db.exists() and list(tmp_path.iterdir()) == []


def test_refusal_states_the_estimate():
    with pytest.raises(Exception) as err:
        check_size(parse_arch("mlp:L=2"), "covariance", 3)
    msg = str(err.value)
    # 131,856 ordered graphs (the counter's value) and the ordered pairing sum, halved at most by merging
    assert "131,856 operator graphs" in msg and "at least 1,355,245,668 pairings" in msg


@pytest.mark.parametrize("arch,quantity,order", [
    ("mlp:L=1", "covariance", 0), ("mlp:L=1", "covariance", 3), ("mlp:L=2", "covariance", 2),
    ("mlp:L=1", "ntk", 2), ("resnet:L=2", "covariance", 2), ("mlp:L=1", "fourpoint", 2), ("mlp:L=2", "fourpoint", 1),
])
def test_tree_estimates_bound_the_enumeration(arch, quantity, order):
    """The estimate sums ordered tuples of trees: at least the catalogue's total, at most twice."""
    spec = parse_arch(arch)
    est = estimate_expansion(spec, quantity, order)
    graphs, sizes = plan_expansion(spec, quantity, order)
    total = sum(sizes)
    assert est.pairings_bound == "upper"
    assert est.pairings_at_least() <= total <= est.n_pairings
    if quantity == "fourpoint":  # four trees are taken as multisets: nothing left to merge
        assert est.n_pairings == total
    assert len(graphs) <= est.n_graphs


@pytest.mark.parametrize("quantity,order,p,ensemble,expected", [
    ("gue", 4, None, "gaussian", 105),
    ("trace", 3, 2, "gaussian", 15 ** 2),
    ("trace", 4, 3, "complex", 24 ** 3),
])
def test_word_estimates_are_exact(quantity, order, p, ensemble, expected):
    est = estimate_expansion(None, quantity, order, p=p, ensemble=ensemble)
    _, sizes = plan_expansion(None, quantity, order, p=p, ensemble=ensemble)
    assert est.n_pairings == sum(sizes) == expected and est.pairings_bound == "exact"


def test_partition_estimate_is_a_lower_bound():
    est = estimate_expansion(None, "trace", 3, p=1, ensemble="rademacher")
    _, sizes = plan_expansion(None, "trace", 3, p=1, ensemble="rademacher")
    assert est.pairings_bound == "lower" and est.n_pairings == 15 < sum(sizes) == 31  # 15 pairings + 15 (4+2) + 1 (6)
    from graphexp_db.expand import trace_word_graph

    assert count_partitions(trace_word_graph(1, 3)) == 31


def test_force_skips_the_estimate_but_small_expansions_pass(runner, tmp_path):
    res = runner.invoke(app, ["expand", "--quantity", "gue", "--order", "3", "--db", f"sqlite:///{tmp_path}/c.sqlite", "--json"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["moments", "jacobian", "--arch", "mlp:L=1", "--activation", "tanh", "--kmax", "20", "--json"])
    assert res.exit_code == 0, res.output
