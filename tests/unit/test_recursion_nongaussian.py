"""Non-Gaussian weights in the layer recursion (rademacher, uniform, sparse:p), against references
that share nothing with it:

* exact enumeration of every sign pattern of small rademacher networks (N = 1, 2, 3);
* the same engine fed Gaussian cumulants equals the Gaussian (kernel / Price) engine exactly;
* Monte Carlo for uniform and sparse weights;
* the N^0 term at fixed d is the exact limit of the non-Gaussian first layer, not the NNGP.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction as F

import numpy as np
import pytest
from typer.testing import CliRunner

from graphexp_db.cli import app
from graphexp_db.expand import layer_dag
from graphexp_db.recursion import _CumulantEngine, series
from graphexp_db.spec import parse_activation, parse_arch, parse_ensemble

X2, Y2 = [F(1), F(2)], [F(1), F(-1)]
SB = 0.5


def _value(coeffs, N):
    return float(sum(v * F(1, N) ** j for j, v in coeffs.items()))


def _phi(c):
    return lambda z: sum(ck * z**k for k, ck in enumerate(c))


def _all_signs(n):
    return np.array(list(itertools.product((-1.0, 1.0), repeat=n)))


def _rademacher_mlp_outputs(L, N, c, inputs):
    """f at each input for every sign pattern of an MLP(L) of width N (sw = 1, sb = 1/2)."""
    phi = _phi(c)
    d = len(inputs[0])
    sizes = [(N, d), (N,)] + [(N, N), (N,)] * (L - 1) + [(N,), ()]
    n = sum(math.prod(s) for s in sizes)
    S = _all_signs(n)
    parts, at = [], 0
    for s in sizes:
        k = math.prod(s)
        parts.append(S[:, at:at + k].reshape((len(S),) + s))
        at += k
    out = []
    for x in inputs:
        x = np.array([float(v) for v in x])
        h = parts[0] @ x / math.sqrt(d) + SB * parts[1]
        for layer in range(L - 1):
            W, b = parts[2 + 2 * layer], parts[3 + 2 * layer]
            h = np.einsum("snk,sk->sn", W, phi(h)) / math.sqrt(N) + SB * b
        out.append(np.einsum("sk,sk->s", parts[-2], phi(h)) / math.sqrt(N) + SB * parts[-1])
    return out


@pytest.mark.parametrize("N", [1, 2])
def test_rademacher_depth2_covariance_equals_exact_enumeration(N):
    c = (0.0, 1.0, 0.5)
    s = series(parse_arch("mlp:L=2,sw=1,sb=1/2"), "poly:0,1,1/2", [X2, Y2], "covariance", ensemble="rademacher")
    fx, fy = _rademacher_mlp_outputs(2, N, c, [X2, Y2])
    assert _value(s, N) == pytest.approx(float(np.mean(fx * fy)), rel=1e-12)


@pytest.mark.parametrize("N", [1, 2, 3])
def test_rademacher_fourpoint_equals_exact_enumeration(N):
    c = (0.0, 1.0, 1.0)
    s = series(parse_arch("mlp:L=1,sw=1,sb=1/2"), "poly:0,1,1", [X2], "fourpoint", ensemble="rademacher")
    (f,) = _rademacher_mlp_outputs(1, N, c, [X2])
    exact = np.mean(f**4) - 3 * np.mean(f**2) ** 2
    assert _value(s, N) == pytest.approx(float(exact), rel=1e-12)
    assert s[0] == F(-2) * F(1, 2) ** 4    # kappa_4 of the rademacher output bias: c4 sb^4


@pytest.mark.parametrize("quantity", ["covariance", "fourpoint", "fourpoint-mixed"])
def test_gaussian_cumulants_reproduce_the_gaussian_engine(quantity):
    arch = parse_arch("mlp:L=3,sw=1.1,sb=0.3")
    act = "poly:0.1,1,-1/5"
    xs = [[F("1"), F("0.5"), F("-0.3")], [F("0.2"), F("-1"), F("0.7")]]
    xs = xs[:1] if quantity == "fourpoint" else xs
    cum = _CumulantEngine(layer_dag(arch), arch, parse_activation(act), parse_ensemble("gaussian"), xs, quantity, None).run()
    assert cum == series(arch, act, xs, quantity)


def _mlp_mc(L, N, c, inputs, draw, S, rng, batch=50_000):
    phi = _phi(c)
    inp = np.array([[float(v) for v in x] for x in inputs])
    d = inp.shape[1]
    out = []
    for start in range(0, S, batch):
        B = min(batch, S - start)
        h = np.einsum("bnd,md->bmn", draw(rng, (B, N, d)), inp) / math.sqrt(d) + SB * draw(rng, (B, 1, N))
        for _ in range(L - 1):
            h = np.einsum("bnk,bmk->bmn", draw(rng, (B, N, N)), phi(h)) / math.sqrt(N) + SB * draw(rng, (B, 1, N))
        out.append(np.einsum("bk,bmk->bm", draw(rng, (B, N)), phi(h)) / math.sqrt(N) + SB * draw(rng, (B, 1)))
    return np.concatenate(out)


DRAW = {
    "uniform": lambda rng, s: rng.uniform(-math.sqrt(3), math.sqrt(3), s),
    "sparse:1/2": lambda rng, s: rng.standard_normal(s) * (rng.random(s) < 0.5) * math.sqrt(2),
}


@pytest.mark.parametrize("ensemble", ["uniform", "sparse:1/2"])
def test_uniform_and_sparse_covariance_match_monte_carlo(ensemble):
    N = 4
    s = series(parse_arch("mlp:L=2,sw=1,sb=1/2"), "poly:0,1,1/2", [X2, Y2], "covariance", ensemble=ensemble)
    f = _mlp_mc(2, N, (0.0, 1.0, 0.5), [X2, Y2], DRAW[ensemble], 1_000_000, np.random.default_rng(5))
    prod = f[:, 0] * f[:, 1]
    z = (prod.mean() - _value(s, N)) / (prod.std() / math.sqrt(len(prod)))
    assert abs(z) < 4, (ensemble, z)
    z0 = (prod.mean() - float(s[0])) / (prod.std() / math.sqrt(len(prod)))
    assert abs(z0) > 4    # the 1/N terms are resolved


def test_fixed_d_limit_is_the_exact_first_layer_law_not_the_nngp():
    # N -> inf with d = 2 fixed, one hidden layer: E[phi(h_x) phi(h_y)] + sb^2 over the 2^3 sign
    # patterns of (W1 row, b1), exactly; the Gaussian NNGP differs
    c = (F(0), F(1), F(1))
    phi = _phi(c)
    total = 0.0
    for w1, w2, b in itertools.product((-1, 1), repeat=3):
        # h = (w.x)/sqrt(2) + b/2 (sqrt(2) is irrational: floats)
        ux = (w1 * 1 + w2 * 2) / math.sqrt(2) + 0.5 * b
        uy = (w1 * 1 - w2 * 1) / math.sqrt(2) + 0.5 * b
        total += phi(ux) * phi(uy)
    exact_limit = total / 8 + 0.25
    s = series(parse_arch("mlp:L=1,sw=1,sb=1/2"), "poly:0,1,1", [X2, Y2], "covariance", ensemble="rademacher")
    gauss = series(parse_arch("mlp:L=1,sw=1,sb=1/2"), "poly:0,1,1", [X2, Y2], "covariance")
    assert float(s[0]) == pytest.approx(exact_limit, rel=1e-12)
    assert abs(float(gauss[0]) - float(s[0])) > 1


def test_cli_ensemble_contract_and_refusals():
    runner = CliRunner()
    r = runner.invoke(app, ["finite-width", "covariance", "--arch", "mlp:L=2,sw=1,sb=0.5", "--activation", "poly:0,1,1/2",
                            "--x", "1,2", "--y", "1,-1", "--ensemble", "rademacher", "--json"])
    assert r.exit_code == 0, r.output
    import json

    out = json.loads(r.stdout)
    assert out["ensemble"] == "rademacher" and out["method"] == "recursion"
    assert out["coefficients_exact"] == {"0": "71675/16384", "1": "-22993/8192"}
    for args, needle in [(["covariance", "--ensemble", "rademacher", "--method", "graphs"], "layer recursion"),
                         (["ntk", "--ensemble", "rademacher"], "NTK mean"),
                         (["covariance", "--ensemble", "complex"], "trace words")]:
        r = runner.invoke(app, ["finite-width", args[0], "--arch", "mlp:L=2", "--activation", "poly:0,1,1/2", "--x", "1,2",
                                "--y", "1,-1", *args[1:]])
        assert r.exit_code == 2 and needle in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.output


@pytest.mark.parametrize("ensemble", ["rademacher", "uniform", "sparse:1/3"])
def test_non_gaussian_truncation_keeps_the_leading_coefficients(ensemble):
    arch = parse_arch("mlp:L=3,sw=1,sb=1/2")
    for quantity, xs in [("covariance", [X2, Y2]), ("fourpoint", [X2])]:
        full = series(arch, "poly:0,1,1/2", xs, quantity, ensemble=ensemble)
        assert len(full) >= 3
        for J in (0, 1, 2):
            assert series(arch, "poly:0,1,1/2", xs, quantity, ensemble=ensemble, max_order=J) == {j: v for j, v in full.items() if j <= J}
