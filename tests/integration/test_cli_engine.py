"""CLI contracts of the engine commands, and bad input: one line on stderr, exit 2, nothing written."""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

from graphexp_db.cli import app
from graphexp_db.finite import harer_zagier

runner = CliRunner()


def _run(*args, **kw):
    return runner.invoke(app, list(args), catch_exceptions=False, **kw)


def test_genus_table_contract():
    r = _run("genus-table", "--ensemble", "gue", "--n-max", "8", "--json")
    assert r.exit_code == 0
    table = json.loads(r.stdout)["table"]
    assert table == {str(n): {str(g): c for g, c in harer_zagier(n).items()} for n in range(1, 9)}


@pytest.mark.parametrize("ensemble,expected", [("real", {"0": "2", "1": "1"}), ("complex", {"0": "2"})])
def test_finite_width_trace_contract(ensemble, expected):
    r = _run("finite-width", "trace", "--ensemble", ensemble, "--p", "1", "--k", "2", "--json")
    out = json.loads(r.stdout)
    assert out["coefficients_exact"] == expected
    assert out["coefficients"] == {j: float(v) for j, v in expected.items()}


def test_finite_width_covariance_and_fourpoint_contract():
    args = ["--arch", "mlp:L=2,sw=1.2,sb=0.3", "--activation", "poly:0.1,1,0.5", "--x", "1,0.5,-0.3", "--y", "0.2,-1,0.7", "--json"]
    cov = json.loads(_run("finite-width", "covariance", *args).stdout)
    assert set(cov["coefficients"]) == {"0", "1"}
    assert cov["coefficients_exact"]["0"] == "1332775848986459667/610351562500000000"
    four = json.loads(_run("finite-width", "fourpoint", *[a.replace("L=2", "L=1") for a in args]).stdout)
    assert set(four["coefficients"]) == {"1"}


def test_expand_then_query(tmp_path):
    url = f"sqlite:///{tmp_path}/c.sqlite"
    r = _run("expand", "--arch", "mlp:L=1", "--quantity", "covariance", "--order", "2", "--activation", "poly:0,1,1/2", "--db", url, "--json")
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["n_graphs"] > 0 and summary["labels"][0] == "mlp-L1.cov.o2.1"
    q = _run("query", "SELECT count(*) AS n FROM operator_graph WHERE shape = 'mlp-L1'", "--db", url, "--json")
    assert json.loads(q.stdout)["rows"] == [[summary["n_graphs"]]]
    again = json.loads(_run("expand", "--arch", "mlp:L=1", "--quantity", "covariance", "--order", "2", "--db", url, "--json").stdout)
    assert again["graphs_skipped"] == summary["n_graphs"] and again["graphs_done"] == 0


@pytest.mark.parametrize(
    "args,needle",
    [
        (["expand", "--arch", "mlp:L=0", "--quantity", "covariance", "--order", "1"], "positive integer"),
        (["expand", "--arch", "mlp:L=2", "--quantity", "covariance", "--order", "1", "--activation", "swish"], "unknown activation"),
        (["expand", "--arch", '{"kind":"dag","edges":[[0,1],[1,0]]}', "--quantity", "covariance", "--order", "1"], "cycle"),
        (["expand", "--arch", "mlp:L=3", "--quantity", "covariance", "--order", "3"], "over the limit"),
        (["expand", "--quantity", "gue", "--order", "9"], "34,459,425 pairings"),
        (["expand", "--quantity", "trace", "--p", "2", "--order", "2", "--ensemble", "sparse:2"], "0 < p <= 1"),
        (["expand", "--quantity", "gue", "--order", "2", "--device", "gpu"], "no CUDA GPU"),
        (["finite-width", "covariance", "--arch", "mlp:L=2", "--activation", "tanh", "--x", "1", "--y", "1", "--max-order", "5"], "over 2"),
        (["finite-width", "covariance", "--arch", "mlp:L=30", "--activation", "poly:0,1,0.5", "--x", "1", "--y", "1"], "use --max-order"),
        (["finite-width", "ntk", "--arch", "resnet:L=inf", "--activation", "poly:0,1", "--x", "1", "--y", "1", "--method", "recursion"], "ODE limit"),
        (["finite-width", "covariance", "--arch", "mlp:L=2", "--activation", "poly:0,1", "--x", "1", "--y", "1", "--method", "pairs"], "unknown method"),
        (["finite-width", "fourpoint", "--arch", "mlp:L=2", "--activation", "poly:0,1", "--x", "1", "--y", "1", "--method", "graphs"], "no graph route"),
        (["finite-width", "covariance", "--arch", "mlp:L=2", "--activation", "poly:0,1", "--x", "1,2", "--y", "1"], "different dimensions"),
        (["finite-width", "covariance", "--arch", "mlp:L=2", "--activation", "poly:0,1", "--x", "1,abc", "--y", "1,2"], "malformed x"),
        (["finite-width", "fourpoint", "--arch", "mlp:L=2", "--activation", "poly:0.1,1,0.5", "--x", "1,0.5,-0.3", "--method", "graphs"], "use --force"),
        (["genus-table", "--ensemble", "gue", "--n-max", "9"], "over the limit"),
        (["finite-width", "trace", "--ensemble", "cauchy"], "unknown ensemble"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, args, needle):
    db = tmp_path / "never.sqlite"
    env = {"GRAPHEXP_DB": f"sqlite:///{db}"}
    r = runner.invoke(app, args, env=env)
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0], r.stderr
    assert not db.exists()
    assert not os.path.exists(f"{db}-wal")
